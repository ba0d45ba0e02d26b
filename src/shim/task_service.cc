#include "task_service.h"

#include <google/protobuf/empty.pb.h>
#include <unistd.h>

#include <csignal>

#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "metrics.h"
#include "wasmshim/ttrpc/protobuf.h"
#include "wasmshim/ttrpc/status.h"

namespace wasmshim::shim {
namespace {

using ttrpc::StatusCode;
using ttrpc::StatusError;
namespace types = ::containerd::v1::types;
namespace events = ::containerd::events;

void set_time(google::protobuf::Timestamp& out, std::chrono::system_clock::time_point at) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
  out.set_seconds(ns / 1000000000);
  out.set_nanos(static_cast<std::int32_t>(ns % 1000000000));
}

// Internal errors keep their message; containerd shows it to the user.
[[noreturn]] void rethrow_as_status(const std::string& what) {
  try {
    throw;
  } catch (const StatusError&) {
    throw;
  } catch (const std::exception& e) {
    throw StatusError(StatusCode::kInternal, what + ": " + e.what());
  }
}

constexpr std::uint32_t kSignalExitBase = 128;
// How long a Kill that arrives during its task's Start waits for the
// process before answering that the task is still starting.
constexpr auto kKillWaitsForStart = std::chrono::seconds(10);

}  // namespace

TaskService::TaskService(TaskServiceOptions options) : options_(std::move(options)) {}

TaskService::~TaskService() {
  std::vector<std::thread> watchers;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (auto& [id, task] : tasks_) {
      if (task->phase == Phase::running) {
        try {
          task->instance->kill(SIGKILL);
        } catch (const std::exception&) {
          // Best effort: the process may have just exited.
        }
      }
      if (task->exit_watcher.joinable()) {
        watchers.push_back(std::move(task->exit_watcher));
      }
    }
  }
  for (auto& watcher : watchers) {
    watcher.join();
  }
}

TaskService::Task& TaskService::find_locked(const std::string& id, const std::string& exec_id) {
  if (!exec_id.empty()) {
    throw StatusError(StatusCode::kNotFound,
                      "exec process " + exec_id + " not found: Wasm tasks have no exec processes");
  }
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    throw StatusError(StatusCode::kNotFound, "task " + id + " not found");
  }
  return *it->second;
}

void TaskService::publish(const std::string& topic, const google::protobuf::MessageLite& event) {
  if (options_.events != nullptr) {
    options_.events->publish(topic, event);
  }
}

task::CreateTaskResponse TaskService::create(const task::CreateTaskRequest& request) {
  if (request.id().empty() || request.bundle().empty()) {
    throw StatusError(StatusCode::kInvalidArgument, "create needs a task id and a bundle");
  }
  if (!request.checkpoint().empty()) {
    throw StatusError(StatusCode::kUnimplemented,
                      "checkpoint/restore is not supported for Wasm tasks");
  }
  if (request.has_options() && !request.options().type_url().empty()) {
    throw StatusError(StatusCode::kInvalidArgument, "unknown runtime options of type " +
                                                        request.options().type_url() +
                                                        ": the wasmshim runtime takes no options");
  }
  if (request.terminal()) {
    throw StatusError(StatusCode::kInvalidArgument,
                      "a terminal (ctr -t, tty: true) is not supported by wasmshim: run the "
                      "task without one");
  }
  auto task = std::make_unique<Task>();
  task->config = {request.id(),     request.bundle(), options_.namespace_name, request.stdin(),
                  request.stdout(), request.stderr(), request.terminal()};
  {
    std::lock_guard lock(mutex_);
    if (tasks_.count(request.id()) != 0) {
      throw StatusError(StatusCode::kAlreadyExists, "task " + request.id() + " already exists");
    }
  }
  if (request.rootfs_size() > 0 && options_.mount_rootfs) {
    try {
      options_.mount_rootfs(request.bundle(), request.rootfs());
    } catch (...) {
      rethrow_as_status("mounting the rootfs of " + request.id());
    }
    task->rootfs_mounted = true;
  }
  trace::ScopedSpan span("wasmshim.shim", "instance.create");
  span.set("container.id", request.id());
  try {
    task->instance = options_.create_instance(task->config);
  } catch (const std::exception& e) {
    span.fail(e.what());
    if (task->rootfs_mounted && options_.unmount_rootfs) {
      options_.unmount_rootfs(request.bundle());
    }
    rethrow_as_status("creating task " + request.id());
  } catch (...) {
    if (task->rootfs_mounted && options_.unmount_rootfs) {
      options_.unmount_rootfs(request.bundle());
    }
    rethrow_as_status("creating task " + request.id());
  }
  {
    std::lock_guard lock(mutex_);
    if (!tasks_.emplace(request.id(), std::move(task)).second) {
      throw StatusError(StatusCode::kAlreadyExists, "task " + request.id() + " already exists");
    }
  }
  events::TaskCreate event;
  event.set_container_id(request.id());
  event.set_bundle(request.bundle());
  *event.mutable_rootfs() = request.rootfs();
  event.mutable_io()->set_stdin(request.stdin());
  event.mutable_io()->set_stdout(request.stdout());
  event.mutable_io()->set_stderr(request.stderr());
  publish("/tasks/create", event);
  return {};
}

task::StartResponse TaskService::start(const task::StartRequest& request) {
  Task* task = nullptr;
  {
    std::lock_guard lock(mutex_);
    task = &find_locked(request.id(), request.exec_id());
    if (task->phase != Phase::created) {
      throw StatusError(StatusCode::kFailedPrecondition,
                        "task " + request.id() + " was already started");
    }
    task->phase = Phase::running;  // also keeps a second Start or a Delete out
  }
  std::uint32_t pid = 0;
  trace::ScopedSpan span("wasmshim.shim", "instance.start");
  span.set("container.id", request.id());
  try {
    pid = task->instance->start();
    span.set("process.pid", static_cast<std::int64_t>(pid));
  } catch (const std::exception& e) {
    span.fail(e.what());
    std::lock_guard lock(mutex_);
    task->phase = Phase::stopped;
    task->exit = ExitStatus{kSignalExitBase - 1, std::chrono::system_clock::now()};
    exited_.notify_all();
    started_.notify_all();
    rethrow_as_status("starting task " + request.id());
  }
  {
    std::lock_guard lock(mutex_);
    task->pid = pid;
    task->started_in = trace::current();
  }
  started_.notify_all();
  // TaskStart goes out before the watcher can publish TaskExit.
  events::TaskStart event;
  event.set_container_id(request.id());
  event.set_pid(pid);
  publish("/tasks/start", event);
  std::lock_guard lock(mutex_);
  watch_exit(request.id(), *task);
  task::StartResponse response;
  response.set_pid(pid);
  return response;
}

void TaskService::watch_exit(const std::string& id, Task& task) {
  task.exit_watcher = std::thread([this, id, &task, parent = task.started_in] {
    ExitStatus status;
    {
      trace::ScopedSpan span("wasmshim.shim", "instance.wait", trace::Kind::internal, parent);
      span.set("container.id", id);
      try {
        status = task.instance->wait();
      } catch (const std::exception& e) {
        span.fail(e.what());
        status = {kSignalExitBase - 1, std::chrono::system_clock::now()};
      }
      span.set("exit_code", static_cast<std::int64_t>(status.code));
      if (status.code > kSignalExitBase && status.code < kSignalExitBase + 65) {
        span.set("signal", static_cast<std::int64_t>(status.code - kSignalExitBase));
      }
    }
    std::uint32_t pid = 0;
    {
      std::lock_guard lock(mutex_);
      task.phase = Phase::stopped;
      task.exit = status;
      pid = task.pid;
    }
    if (task.instance->oom_killed()) {
      events::TaskOOM oom;
      oom.set_container_id(id);
      publish("/tasks/oom", oom);
    }
    // Publish TaskExit before releasing waiters, so whoever saw Wait
    // return can count on the event having been sent.
    events::TaskExit event;
    event.set_container_id(id);
    event.set_id(id);
    event.set_pid(pid);
    event.set_exit_status(status.code);
    set_time(*event.mutable_exited_at(), status.at);
    publish("/tasks/exit", event);
    std::lock_guard lock(mutex_);
    exited_.notify_all();
  });
}

task::DeleteResponse TaskService::remove(const task::DeleteRequest& request) {
  std::unique_ptr<Task> task;
  {
    std::lock_guard lock(mutex_);
    Task& found = find_locked(request.id(), request.exec_id());
    if (found.phase == Phase::running) {
      throw StatusError(StatusCode::kFailedPrecondition,
                        "task " + request.id() + " is running: kill it before deleting it");
    }
    task = std::move(tasks_[request.id()]);
    tasks_.erase(request.id());
  }
  if (task->exit_watcher.joinable()) {
    task->exit_watcher.join();
  }
  const ExitStatus exit = task->exit.value_or(ExitStatus{0, std::chrono::system_clock::now()});
  trace::ScopedSpan span("wasmshim.shim", "instance.delete");
  span.set("container.id", request.id()).set("exit_code", static_cast<std::int64_t>(exit.code));
  try {
    task->instance->remove();
  } catch (const std::exception& e) {
    span.fail(e.what());
    // The task is gone from the shim either way; containerd must not keep
    // a record it can never delete.
  }
  if (task->rootfs_mounted && options_.unmount_rootfs) {
    options_.unmount_rootfs(task->config.bundle);
  }
  events::TaskDelete event;
  event.set_container_id(request.id());
  event.set_pid(task->pid);
  event.set_exit_status(exit.code);
  set_time(*event.mutable_exited_at(), exit.at);
  publish("/tasks/delete", event);
  task::DeleteResponse response;
  response.set_pid(task->pid);
  response.set_exit_status(exit.code);
  set_time(*response.mutable_exited_at(), exit.at);
  return response;
}

task::PidsResponse TaskService::pids(const task::PidsRequest& request) {
  std::lock_guard lock(mutex_);
  Task& task = find_locked(request.id());
  task::PidsResponse response;
  if (task.phase == Phase::running && task.pid != 0) {
    response.add_processes()->set_pid(task.pid);
  }
  return response;
}

void TaskService::kill(const task::KillRequest& request) {
  std::unique_lock lock(mutex_);
  // During a Start the task already shows as running (State, `ctr task
  // ls`) before its process exists: the signal waits for the process.
  started_.wait_for(lock, kKillWaitsForStart, [&] {
    auto it = tasks_.find(request.id());
    return it == tasks_.end() || it->second->phase != Phase::running || it->second->pid != 0;
  });
  Task& task = find_locked(request.id(), request.exec_id());
  switch (task.phase) {
    case Phase::stopped:
      throw StatusError(StatusCode::kNotFound, "task " + request.id() + " has already exited");
    case Phase::created: {
      // Never started: it ends here, as if the signal had killed it.
      task.phase = Phase::stopped;
      task.exit = ExitStatus{kSignalExitBase + request.signal(), std::chrono::system_clock::now()};
      lock.unlock();
      events::TaskExit event;
      event.set_container_id(request.id());
      event.set_id(request.id());
      event.set_exit_status(kSignalExitBase + request.signal());
      set_time(*event.mutable_exited_at(), std::chrono::system_clock::now());
      publish("/tasks/exit", event);
      exited_.notify_all();
      return;
    }
    case Phase::running: {
      if (task.pid == 0) {
        throw StatusError(StatusCode::kFailedPrecondition,
                          "task " + request.id() + " is still starting");
      }
      trace::ScopedSpan span("wasmshim.shim", "instance.kill");
      span.set("container.id", request.id())
          .set("signal", static_cast<std::int64_t>(request.signal()));
      task.instance->kill(request.signal());
      return;
    }
  }
}

task::WaitResponse TaskService::wait(const task::WaitRequest& request,
                                     const std::function<bool()>& cancelled) {
  std::unique_lock lock(mutex_);
  Task* task = &find_locked(request.id(), request.exec_id());
  auto period_start = std::chrono::steady_clock::now();
  std::int64_t period_start_ns = trace::now_unix_nano();
  while (!task->exit) {
    exited_.wait_for(lock, std::min(std::chrono::milliseconds(200), options_.wait_span_interval));
    if (std::chrono::steady_clock::now() - period_start >= options_.wait_span_interval) {
      // A long Wait shows up in its trace while it lasts.
      const std::int64_t now_ns = trace::now_unix_nano();
      trace::record_span("wasmshim.shim", "wait.still_running", period_start_ns, now_ns);
      period_start = std::chrono::steady_clock::now();
      period_start_ns = now_ns;
    }
    if (cancelled && cancelled()) {
      throw StatusError(StatusCode::kCancelled, "wait for " + request.id() + " cancelled");
    }
    task = &find_locked(request.id());
  }
  task::WaitResponse response;
  response.set_exit_status(task->exit->code);
  set_time(*response.mutable_exited_at(), task->exit->at);
  return response;
}

task::StateResponse TaskService::state(const task::StateRequest& request) {
  std::lock_guard lock(mutex_);
  Task& task = find_locked(request.id(), request.exec_id());
  task::StateResponse response;
  response.set_id(request.id());
  response.set_bundle(task.config.bundle);
  response.set_pid(task.pid);
  response.set_stdin(task.config.stdin_path);
  response.set_stdout(task.config.stdout_path);
  response.set_stderr(task.config.stderr_path);
  response.set_terminal(task.config.terminal);
  switch (task.phase) {
    case Phase::created:
      response.set_status(types::CREATED);
      break;
    case Phase::running:
      response.set_status(types::RUNNING);
      break;
    case Phase::stopped:
      response.set_status(types::STOPPED);
      response.set_exit_status(task.exit->code);
      set_time(*response.mutable_exited_at(), task.exit->at);
      break;
  }
  return response;
}

task::StatsResponse TaskService::stats(const task::StatsRequest& request) {
  std::optional<container::CgroupStats> stats;
  {
    std::lock_guard lock(mutex_);
    Task& task = find_locked(request.id());
    stats = task.instance->stats();
  }
  if (!stats) {
    throw StatusError(StatusCode::kNotFound,
                      "task " + request.id() +
                          " has no cgroup to read metrics from (its config.json asks for none)");
  }
  task::StatsResponse response;
  *response.mutable_stats() = metrics_any(*stats);
  return response;
}

task::ConnectResponse TaskService::connect(const task::ConnectRequest& request) {
  std::lock_guard lock(mutex_);
  task::ConnectResponse response;
  response.set_shim_pid(static_cast<std::uint32_t>(::getpid()));
  response.set_version(options_.version);
  if (auto it = tasks_.find(request.id()); it != tasks_.end()) {
    response.set_task_pid(it->second->pid);
  }
  return response;
}

void TaskService::shutdown(const task::ShutdownRequest& request) {
  std::function<void()> on_shutdown;
  {
    std::lock_guard lock(mutex_);
    // containerd asks after every Delete; a shim holding other tasks of the
    // group stays up.
    if ((!tasks_.empty() && !request.now()) || shutting_down_) {
      return;
    }
    shutting_down_ = true;
    on_shutdown = options_.on_shutdown;
  }
  if (on_shutdown) {
    on_shutdown();
  }
}

void TaskService::close_io(const task::CloseIORequest& request) {
  // The container holds its own end of the stdin fifo; it sees EOF when
  // containerd closes the other. Nothing to do beyond checking the task.
  std::lock_guard lock(mutex_);
  find_locked(request.id(), request.exec_id());
}

void TaskService::update(const task::UpdateTaskRequest& request) {
  std::lock_guard lock(mutex_);
  find_locked(request.id());
}

void TaskService::resize_pty(const task::ResizePtyRequest& request) {
  std::lock_guard lock(mutex_);
  find_locked(request.id(), request.exec_id());
  throw StatusError(StatusCode::kFailedPrecondition,
                    "task " + request.id() + " has no terminal to resize");
}

std::size_t TaskService::task_count() const {
  std::lock_guard lock(mutex_);
  return tasks_.size();
}

namespace {

// The parent of an RPC's span: the caller's traceparent when it sent one
// (containerd >= 1.7 does), else the daemon's shim_main.
trace::Parent rpc_parent(const ttrpc::ServerContext& context, const std::string& fallback) {
  if (auto traceparent = context.metadata().get("traceparent")) {
    return trace::from_traceparent(*traceparent, context.metadata().get("tracestate").value_or(""));
  }
  return trace::from_traceparent(fallback);
}

// Every Task RPC is one SERVER span named service/method, with the task's id.
template <class Request, class Response>
ttrpc::Handler handler(std::function<Response(const Request&, ttrpc::ServerContext&)> body,
                       const std::string* parent_traceparent) {
  return ttrpc::typed_handler<Request, Response>(
      [body = std::move(body), parent_traceparent](ttrpc::ServerContext& context,
                                                   const Request& request,
                                                   Response& response) -> ttrpc::Status {
        trace::ScopedSpan span("wasmshim.shim", context.service() + "/" + context.method(),
                               trace::Kind::server, rpc_parent(context, *parent_traceparent));
        span.set("rpc.system", "ttrpc")
            .set("rpc.service", context.service())
            .set("rpc.method", context.method())
            .set("container.id", request.id());
        try {
          response = body(request, context);
        } catch (const StatusError& e) {
          span.set("rpc.ttrpc.status_code", static_cast<std::int64_t>(e.status().code()));
          span.fail(e.status().message());
          throw;
        } catch (const std::exception& e) {
          span.fail(e.what());
          throw;
        }
        return {};
      });
}

template <class Request>
ttrpc::Handler empty_handler(std::function<void(const Request&)> body,
                             const std::string* parent_traceparent) {
  return handler<Request, google::protobuf::Empty>(
      [body = std::move(body)](const Request& request, ttrpc::ServerContext&) {
        body(request);
        return google::protobuf::Empty();
      },
      parent_traceparent);
}

ttrpc::Handler unimplemented(std::string reason) {
  return [reason = std::move(reason)](ttrpc::ServerContext&, std::string_view) -> ttrpc::Reply {
    return ttrpc::Status(StatusCode::kUnimplemented, reason);
  };
}

}  // namespace

void TaskService::register_with(ttrpc::Server& server) {
  const std::string* parent = &options_.parent_traceparent;
  for (const std::string service : {"containerd.task.v2.Task", "containerd.task.v3.Task"}) {
    auto add = [&](const char* method, ttrpc::Handler h) {
      server.register_method(service, method, std::move(h));
    };
    add("Create", handler<task::CreateTaskRequest, task::CreateTaskResponse>(
                      [this](const auto& r, auto&) { return create(r); }, parent));
    add("Start", handler<task::StartRequest, task::StartResponse>(
                     [this](const auto& r, auto&) { return start(r); }, parent));
    add("Delete", handler<task::DeleteRequest, task::DeleteResponse>(
                      [this](const auto& r, auto&) { return remove(r); }, parent));
    add("Pids", handler<task::PidsRequest, task::PidsResponse>(
                    [this](const auto& r, auto&) { return pids(r); }, parent));
    add("Kill", empty_handler<task::KillRequest>([this](const auto& r) { kill(r); }, parent));
    add("Wait", handler<task::WaitRequest, task::WaitResponse>(
                    [this](const auto& r, ttrpc::ServerContext& context) {
                      return wait(r, [&context] { return context.cancelled(); });
                    },
                    parent));
    add("State", handler<task::StateRequest, task::StateResponse>(
                     [this](const auto& r, auto&) { return state(r); }, parent));
    add("Stats", handler<task::StatsRequest, task::StatsResponse>(
                     [this](const auto& r, auto&) { return stats(r); }, parent));
    add("Connect", handler<task::ConnectRequest, task::ConnectResponse>(
                       [this](const auto& r, auto&) { return connect(r); }, parent));
    add("Shutdown",
        empty_handler<task::ShutdownRequest>([this](const auto& r) { shutdown(r); }, parent));
    add("CloseIO",
        empty_handler<task::CloseIORequest>([this](const auto& r) { close_io(r); }, parent));
    add("Update",
        empty_handler<task::UpdateTaskRequest>([this](const auto& r) { update(r); }, parent));
    add("ResizePty",
        empty_handler<task::ResizePtyRequest>([this](const auto& r) { resize_pty(r); }, parent));
    add("Exec", unimplemented("exec is not supported for Wasm tasks: a module has one process"));
    add("Pause", unimplemented("pause is not supported for Wasm tasks yet"));
    add("Resume", unimplemented("resume is not supported for Wasm tasks yet"));
    add("Checkpoint", unimplemented("checkpoint is not supported for Wasm tasks"));
  }
}

}  // namespace wasmshim::shim
