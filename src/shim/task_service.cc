#include "task_service.h"

#include <fcntl.h>
#include <google/protobuf/empty.pb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "metrics.h"
#include "wasmshim/ttrpc/protobuf.h"
#include "wasmshim/ttrpc/status.h"

namespace wasmshim::shim {
namespace {

// containerd's reader of an output fifo opens its end once a writer
// appears, and if the process's exit reaches it first it stops waiting and
// copies nothing: a process that wrote and exited within that window lost
// its output. So the shim opens each output fifo itself at Create (and
// Exec), as runc's shim does, and lets go once the exit is known and before
// TaskExit is sent: the reader gets everything, then its end of file.
// O_RDWR, so the open never waits for a reader; paths that are not fifos
// are left to the process.
std::vector<base::UniqueFd> hold_output(const std::string& stdout_path,
                                        const std::string& stderr_path) {
  std::vector<base::UniqueFd> held;
  for (const std::string* path : {&stdout_path, &stderr_path}) {
    struct stat info {};
    if (path->empty() || ::stat(path->c_str(), &info) != 0 || !S_ISFIFO(info.st_mode)) {
      continue;
    }
    base::UniqueFd fd(::open(path->c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (fd.valid()) {
      held.push_back(std::move(fd));
    }
  }
  return held;
}

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
// How long a task's exit waits for its killed execs' exits to be announced.
constexpr auto kExecsEndWithin = std::chrono::seconds(5);

}  // namespace

TaskService::TaskService(TaskServiceOptions options) : options_(std::move(options)) {}

TaskService::~TaskService() {
  std::vector<std::thread> watchers;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (auto& [id, task] : tasks_) {
      std::vector<ProcessRecord*> records{&task->init};
      for (auto& [exec_id, record] : task->execs) {
        records.push_back(record.get());
      }
      for (ProcessRecord* record : records) {
        if (record->phase == Phase::running) {
          try {
            process_of(*task, *record).kill(SIGKILL);
          } catch (const std::exception&) {
            // Best effort: the process may have just exited.
          }
        }
        if (record->exit_watcher.joinable()) {
          watchers.push_back(std::move(record->exit_watcher));
        }
      }
    }
  }
  for (auto& watcher : watchers) {
    watcher.join();
  }
}

TaskService::Task& TaskService::find_locked(const std::string& id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    throw StatusError(StatusCode::kNotFound, "task " + id + " not found");
  }
  return *it->second;
}

TaskService::ProcessRecord& TaskService::find_process_locked(const std::string& id,
                                                             const std::string& exec_id) {
  Task& task = find_locked(id);
  if (exec_id.empty()) {
    return task.init;
  }
  auto it = task.execs.find(exec_id);
  if (it == task.execs.end()) {
    throw StatusError(StatusCode::kNotFound,
                      "exec process " + exec_id + " not found in task " + id);
  }
  return *it->second;
}

Process& TaskService::process_of(Task& task, ProcessRecord& record) {
  return record.exec ? *record.exec : *task.instance;
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
    throw StatusError(StatusCode::kUnimplemented, "checkpoint/restore is not supported");
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
  task->init.stdin_path = request.stdin();
  task->init.stdout_path = request.stdout();
  task->init.stderr_path = request.stderr();
  task->init.output_held = hold_output(request.stdout(), request.stderr());
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

void TaskService::exec(const task::ExecProcessRequest& request) {
  if (request.exec_id().empty()) {
    throw StatusError(StatusCode::kInvalidArgument, "exec needs an exec id");
  }
  if (request.terminal()) {
    throw StatusError(StatusCode::kInvalidArgument,
                      "exec " + request.exec_id() +
                          ": a terminal (tty) is not supported by wasmshim: exec without one");
  }
  ExecConfig config{request.exec_id(), request.spec().value(), request.stdin(),
                    request.stdout(),  request.stderr(),       request.terminal()};
  trace::ScopedSpan span("wasmshim.shim", "instance.exec");
  span.set("container.id", request.id()).set("exec.id", request.exec_id());
  std::lock_guard lock(mutex_);
  Task& task = find_locked(request.id());
  if (task.execs.count(request.exec_id()) != 0) {
    throw StatusError(StatusCode::kAlreadyExists, "exec process " + request.exec_id() +
                                                      " already exists in task " + request.id());
  }
  if (task.init.phase != Phase::running || task.init.pid == 0) {
    throw StatusError(StatusCode::kFailedPrecondition,
                      "task " + request.id() + " is not running: nothing to exec into");
  }
  auto record = std::make_unique<ProcessRecord>();
  record->exec_id = request.exec_id();
  record->stdin_path = request.stdin();
  record->stdout_path = request.stdout();
  record->stderr_path = request.stderr();
  record->output_held = hold_output(request.stdout(), request.stderr());
  try {
    // Under the lock: the task cannot be deleted meanwhile, and making the
    // process only parses its spec and finds its program.
    record->exec = task.instance->exec(config);
  } catch (const std::exception& e) {
    span.fail(e.what());
    rethrow_as_status("exec " + request.exec_id() + " in task " + request.id());
  }
  task.execs.emplace(request.exec_id(), std::move(record));
  events::TaskExecAdded event;
  event.set_container_id(request.id());
  event.set_exec_id(request.exec_id());
  publish("/tasks/exec-added", event);
}

task::StartResponse TaskService::start(const task::StartRequest& request) {
  if (!request.exec_id().empty()) {
    return start_exec(request);
  }
  Task* task = nullptr;
  {
    std::lock_guard lock(mutex_);
    task = &find_locked(request.id());
    if (task->init.phase != Phase::created) {
      throw StatusError(StatusCode::kFailedPrecondition,
                        "task " + request.id() + " was already started");
    }
    task->init.phase = Phase::running;  // also keeps a second Start or a Delete out
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
    task->init.phase = Phase::stopped;
    task->init.exit = ExitStatus{kSignalExitBase - 1, std::chrono::system_clock::now()};
    task->init.exit_announced = true;  // no TaskExit: Start itself failed
    task->init.output_held.clear();
    exited_.notify_all();
    started_.notify_all();
    rethrow_as_status("starting task " + request.id());
  }
  {
    std::lock_guard lock(mutex_);
    task->init.pid = pid;
    task->init.started_in = trace::current();
  }
  started_.notify_all();
  // TaskStart goes out before the watcher can publish TaskExit.
  events::TaskStart event;
  event.set_container_id(request.id());
  event.set_pid(pid);
  publish("/tasks/start", event);
  std::lock_guard lock(mutex_);
  watch_exit(request.id(), *task, task->init);
  task::StartResponse response;
  response.set_pid(pid);
  return response;
}

// The spawn runs without the lock, as a task's own Start does; the record
// shows as running meanwhile (a second Start is refused, a Kill waits for
// the pid) and the task's Delete waits for it.
task::StartResponse TaskService::start_exec(const task::StartRequest& request) {
  trace::ScopedSpan span("wasmshim.shim", "instance.start");
  span.set("container.id", request.id()).set("exec.id", request.exec_id());
  Task* task = nullptr;
  ProcessRecord* record = nullptr;
  {
    std::lock_guard lock(mutex_);
    task = &find_locked(request.id());
    record = &find_process_locked(request.id(), request.exec_id());
    if (record->phase != Phase::created) {
      throw StatusError(StatusCode::kFailedPrecondition,
                        "exec process " + request.exec_id() + " was already started");
    }
    if (task->init.phase != Phase::running) {
      throw StatusError(StatusCode::kFailedPrecondition, "exec process " + request.exec_id() +
                                                             ": task " + request.id() +
                                                             " has exited: nothing to exec into");
    }
    record->phase = Phase::running;
    ++task->starts_in_flight;
  }
  std::uint32_t pid = 0;
  try {
    pid = record->exec->start();
  } catch (const std::exception& e) {
    span.fail(e.what());
    {
      std::lock_guard lock(mutex_);
      record->phase = Phase::stopped;
      record->exit = ExitStatus{kSignalExitBase - 1, std::chrono::system_clock::now()};
      record->exit_announced = true;  // no TaskExit: Start itself failed
      record->output_held.clear();
      --task->starts_in_flight;
    }
    exited_.notify_all();
    started_.notify_all();
    rethrow_as_status("starting exec process " + request.exec_id());
  }
  span.set("process.pid", static_cast<std::int64_t>(pid));
  {
    std::lock_guard lock(mutex_);
    record->pid = pid;
    record->started_in = trace::current();
  }
  started_.notify_all();
  // TaskExecStarted goes out before the watcher can publish its TaskExit.
  events::TaskExecStarted event;
  event.set_container_id(request.id());
  event.set_exec_id(request.exec_id());
  event.set_pid(pid);
  publish("/tasks/exec-started", event);
  {
    std::lock_guard lock(mutex_);
    watch_exit(request.id(), *task, *record);
    if (task->init.phase == Phase::stopped) {
      // Its task's process went while it started: it goes too.
      try {
        record->exec->kill(SIGKILL);
      } catch (const std::exception&) {
        // Its watcher sees it exit either way.
      }
    }
    --task->starts_in_flight;
  }
  exited_.notify_all();
  task::StartResponse response;
  response.set_pid(pid);
  return response;
}

void TaskService::end_execs_locked(std::unique_lock<std::mutex>& lock, Task& task) {
  for (auto& [exec_id, record] : task.execs) {
    if (record->phase == Phase::running && record->pid != 0) {
      try {
        record->exec->kill(SIGKILL);
      } catch (const std::exception&) {
        // It may have just exited: its watcher sees to it.
      }
    }
  }
  // Killed, they are gone at once; the bound only keeps a process stuck in
  // the kernel from holding the task's own exit back for good.
  exited_.wait_for(lock, kExecsEndWithin, [&] {
    return std::all_of(task.execs.begin(), task.execs.end(), [](const auto& entry) {
      return entry.second->phase == Phase::created || entry.second->exit_announced;
    });
  });
}

void TaskService::finish(const std::string& id, ProcessRecord& record, ExitStatus status) {
  events::TaskExit event;
  event.set_container_id(id);
  event.set_id(record.exec_id.empty() ? id : record.exec_id);
  event.set_pid(record.pid);
  event.set_exit_status(status.code);
  set_time(*event.mutable_exited_at(), status.at);
  record.output_held.clear();  // the process has gone: its output ends here
  publish("/tasks/exit", event);
  {
    std::lock_guard lock(mutex_);
    record.exit_announced = true;
  }
  exited_.notify_all();
}

void TaskService::watch_exit(const std::string& id, Task& task, ProcessRecord& record) {
  record.exit_watcher = std::thread([this, id, &task, &record, parent = record.started_in] {
    ExitStatus status;
    {
      trace::ScopedSpan span("wasmshim.shim", "instance.wait", trace::Kind::internal, parent);
      span.set("container.id", id);
      if (!record.exec_id.empty()) {
        span.set("exec.id", record.exec_id);
      }
      try {
        status = process_of(task, record).wait();
      } catch (const std::exception& e) {
        span.fail(e.what());
        status = {kSignalExitBase - 1, std::chrono::system_clock::now()};
      }
      span.set("exit_code", static_cast<std::int64_t>(status.code));
      if (status.code > kSignalExitBase && status.code < kSignalExitBase + 65) {
        span.set("signal", static_cast<std::int64_t>(status.code - kSignalExitBase));
      }
    }
    {
      std::unique_lock lock(mutex_);
      record.phase = Phase::stopped;
      record.exit = status;
      if (record.exec_id.empty()) {
        end_execs_locked(lock, task);
      }
    }
    if (record.exec_id.empty() && task.instance->oom_killed()) {
      events::TaskOOM oom;
      oom.set_container_id(id);
      publish("/tasks/oom", oom);
    }
    finish(id, record, status);
  });
}

task::DeleteResponse TaskService::remove_exec(const task::DeleteRequest& request) {
  std::unique_ptr<ProcessRecord> record;
  {
    std::lock_guard lock(mutex_);
    ProcessRecord& found = find_process_locked(request.id(), request.exec_id());
    if (found.phase == Phase::running) {
      throw StatusError(StatusCode::kFailedPrecondition,
                        "exec process " + request.exec_id() + " is running: kill it first");
    }
    auto& execs = find_locked(request.id()).execs;
    record = std::move(execs[request.exec_id()]);
    execs.erase(request.exec_id());
  }
  if (record->exit_watcher.joinable()) {
    record->exit_watcher.join();
  }
  record->exec->remove();
  const ExitStatus exit = record->exit.value_or(ExitStatus{0, std::chrono::system_clock::now()});
  task::DeleteResponse response;
  response.set_pid(record->pid);
  response.set_exit_status(exit.code);
  set_time(*response.mutable_exited_at(), exit.at);
  return response;
}

task::DeleteResponse TaskService::remove(const task::DeleteRequest& request) {
  if (!request.exec_id().empty()) {
    return remove_exec(request);
  }
  std::unique_ptr<Task> task;
  {
    std::unique_lock lock(mutex_);
    Task& found = find_locked(request.id());
    if (found.init.phase == Phase::running) {
      throw StatusError(StatusCode::kFailedPrecondition,
                        "task " + request.id() + " is running: kill it before deleting it");
    }
    // An exec that was starting as the task's process exited is killed by
    // its Start: wait for that.
    exited_.wait(lock, [&] { return found.starts_in_flight == 0; });
    task = std::move(tasks_[request.id()]);
    tasks_.erase(request.id());
  }
  if (task->init.exit_watcher.joinable()) {
    task->init.exit_watcher.join();
  }
  // Its execs were killed when it exited; they are waited for and released
  // before the container they ran in.
  for (auto& [exec_id, record] : task->execs) {
    if (record->exit_watcher.joinable()) {
      record->exit_watcher.join();
    }
    record->exec->remove();
  }
  task->execs.clear();
  const ExitStatus exit = task->init.exit.value_or(ExitStatus{0, std::chrono::system_clock::now()});
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
  event.set_pid(task->init.pid);
  event.set_exit_status(exit.code);
  set_time(*event.mutable_exited_at(), exit.at);
  publish("/tasks/delete", event);
  task::DeleteResponse response;
  response.set_pid(task->init.pid);
  response.set_exit_status(exit.code);
  set_time(*response.mutable_exited_at(), exit.at);
  return response;
}

task::PidsResponse TaskService::pids(const task::PidsRequest& request) {
  std::lock_guard lock(mutex_);
  Task& task = find_locked(request.id());
  task::PidsResponse response;
  if (task.init.phase == Phase::running && task.init.pid != 0) {
    response.add_processes()->set_pid(task.init.pid);
  }
  for (const auto& [exec_id, record] : task.execs) {
    if (record->phase == Phase::running && record->pid != 0) {
      response.add_processes()->set_pid(record->pid);
    }
  }
  return response;
}

void TaskService::kill(const task::KillRequest& request) {
  std::unique_lock lock(mutex_);
  // During a Start the task already shows as running (State, `ctr task
  // ls`) before its process exists: the signal waits for the process.
  started_.wait_for(lock, kKillWaitsForStart, [&] {
    auto it = tasks_.find(request.id());
    if (it == tasks_.end()) {
      return true;
    }
    const ProcessRecord* record = &it->second->init;
    if (!request.exec_id().empty()) {
      auto exec = it->second->execs.find(request.exec_id());
      record = exec == it->second->execs.end() ? nullptr : exec->second.get();
    }
    return record == nullptr || record->phase != Phase::running || record->pid != 0;
  });
  Task& task = find_locked(request.id());
  ProcessRecord& record = find_process_locked(request.id(), request.exec_id());
  const std::string name =
      request.exec_id().empty() ? "task " + request.id() : "exec process " + request.exec_id();
  switch (record.phase) {
    case Phase::stopped:
      throw StatusError(StatusCode::kNotFound, name + " has already exited");
    case Phase::created: {
      // Never started: it ends here, as if the signal had killed it.
      const ExitStatus status{kSignalExitBase + request.signal(), std::chrono::system_clock::now()};
      record.phase = Phase::stopped;
      record.exit = status;
      lock.unlock();
      finish(request.id(), record, status);
      return;
    }
    case Phase::running: {
      if (record.pid == 0) {
        throw StatusError(StatusCode::kFailedPrecondition, name + " is still starting");
      }
      trace::ScopedSpan span("wasmshim.shim", "instance.kill");
      span.set("container.id", request.id())
          .set("signal", static_cast<std::int64_t>(request.signal()));
      if (request.all() && request.exec_id().empty()) {
        // Every process in the container, execs and what they started too.
        task.instance->kill_all(request.signal());
      } else {
        process_of(task, record).kill(request.signal());
      }
      return;
    }
  }
}

void TaskService::wake_waiters() {
  std::lock_guard lock(mutex_);
  exited_.notify_all();
}

task::WaitResponse TaskService::wait(const task::WaitRequest& request,
                                     const std::function<bool()>& cancelled,
                                     std::chrono::steady_clock::time_point recheck_at) {
  std::unique_lock lock(mutex_);
  ProcessRecord* record = &find_process_locked(request.id(), request.exec_id());
  auto period_start = std::chrono::steady_clock::now();
  std::int64_t period_start_ns = trace::now_unix_nano();
  while (!record->exit_announced) {
    if (cancelled && cancelled()) {
      throw StatusError(StatusCode::kCancelled, "wait for " + request.id() + " cancelled");
    }
    // Asleep until an exit, wake_waiters(), the next span or `recheck_at`.
    exited_.wait_until(lock, std::min(period_start + options_.wait_span_interval, recheck_at));
    if (std::chrono::steady_clock::now() - period_start >= options_.wait_span_interval) {
      // A long Wait shows up in its trace while it lasts.
      const std::int64_t now_ns = trace::now_unix_nano();
      trace::record_span("wasmshim.shim", "wait.still_running", period_start_ns, now_ns);
      period_start = std::chrono::steady_clock::now();
      period_start_ns = now_ns;
    }
    record = &find_process_locked(request.id(), request.exec_id());
  }
  task::WaitResponse response;
  response.set_exit_status(record->exit->code);
  set_time(*response.mutable_exited_at(), record->exit->at);
  return response;
}

task::StateResponse TaskService::state(const task::StateRequest& request) {
  std::lock_guard lock(mutex_);
  Task& task = find_locked(request.id());
  ProcessRecord& record = find_process_locked(request.id(), request.exec_id());
  task::StateResponse response;
  response.set_id(request.id());
  response.set_exec_id(request.exec_id());
  response.set_bundle(task.config.bundle);
  response.set_pid(record.pid);
  response.set_stdin(record.stdin_path);
  response.set_stdout(record.stdout_path);
  response.set_stderr(record.stderr_path);
  response.set_terminal(record.terminal);
  switch (record.phase) {
    case Phase::created:
      response.set_status(types::CREATED);
      break;
    case Phase::running:
      response.set_status(types::RUNNING);
      break;
    case Phase::stopped:
      response.set_status(types::STOPPED);
      response.set_exit_status(record.exit->code);
      set_time(*response.mutable_exited_at(), record.exit->at);
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
    response.set_task_pid(it->second->init.pid);
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
  // The process holds its own end of the stdin fifo; it sees EOF when
  // containerd closes the other. Nothing to do beyond checking it exists.
  std::lock_guard lock(mutex_);
  find_process_locked(request.id(), request.exec_id());
}

void TaskService::update(const task::UpdateTaskRequest& request) {
  std::lock_guard lock(mutex_);
  find_locked(request.id());
  // Saying so beats a success that changed nothing.
  if (request.has_resources() && !request.resources().value().empty()) {
    throw StatusError(StatusCode::kUnimplemented,
                      "task " + request.id() +
                          ": changing a running container's resources is not supported by "
                          "wasmshim; they stay as created");
  }
}

void TaskService::resize_pty(const task::ResizePtyRequest& request) {
  std::lock_guard lock(mutex_);
  find_process_locked(request.id(), request.exec_id());
  throw StatusError(StatusCode::kFailedPrecondition,
                    "task " + request.id() + " has no terminal to resize");
}

std::size_t TaskService::task_count() const {
  std::lock_guard lock(mutex_);
  return tasks_.size();
}

}  // namespace wasmshim::shim
