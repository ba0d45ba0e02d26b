// containerd's Task service (containerd.task.v2.Task, and the v3 name newer
// containerd asks for): the state machine of each task in this shim, over
// the Instance an engine provides. Handlers are plain methods, testable
// without ttrpc; register() puts them on a ttrpc server.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "wasmshim/base/unique_fd.h"
#include "wasmshim/otel/instrument.h"
#include "wasmshim/shim/instance.h"
#include "wasmshim/ttrpc/server.h"

namespace wasmshim::shim {

namespace task = ::containerd::task::v2;
using Mounts = google::protobuf::RepeatedPtrField<::containerd::types::Mount>;

struct TaskServiceOptions {
  std::function<std::unique_ptr<Instance>(const InstanceConfig&)> create_instance;
  EventSink* events = nullptr;
  std::string namespace_name;
  // Mounts the rootfs containerd gives at <bundle>/rootfs, and undoes it.
  std::function<void(const std::string& bundle, const Mounts& mounts)> mount_rootfs;
  std::function<void(const std::string& bundle)> unmount_rootfs;
  // Called (once) when Shutdown finds no task left: the daemon should exit.
  std::function<void()> on_shutdown;
  // Version string for Connect.
  std::string version;
  // The parent of RPC spans whose request carries no traceparent (the
  // daemon's shim_main), as a W3C traceparent; empty: none.
  std::string parent_traceparent;
  // A Wait that lasts emits a child span this often, so a long-running task
  // shows in its trace before it ends.
  std::chrono::milliseconds wait_span_interval{60000};
};

class TaskService {
 public:
  explicit TaskService(TaskServiceOptions options);
  // Kills what still runs and joins the threads that wait for exits.
  ~TaskService();
  TaskService(const TaskService&) = delete;
  TaskService& operator=(const TaskService&) = delete;

  // Registers every method under containerd.task.v2.Task and .v3.Task.
  void register_with(ttrpc::Server& server);

  // Each throws ttrpc::StatusError on failure.
  task::CreateTaskResponse create(const task::CreateTaskRequest& request);
  // A process exec'd into a running task (its exec_id), not yet started.
  void exec(const task::ExecProcessRequest& request);
  task::StartResponse start(const task::StartRequest& request);
  task::DeleteResponse remove(const task::DeleteRequest& request);
  task::PidsResponse pids(const task::PidsRequest& request);
  void kill(const task::KillRequest& request);
  // Blocks until the task exits or `cancelled` says the caller is gone.
  // Nothing polls `cancelled`: it is checked when wake_waiters() is called
  // and at `recheck_at` (e.g. the caller's deadline).
  task::WaitResponse wait(const task::WaitRequest& request,
                          const std::function<bool()>& cancelled = {},
                          std::chrono::steady_clock::time_point recheck_at =
                              std::chrono::steady_clock::time_point::max());
  // Has every Wait check its `cancelled` again; whoever makes one true calls it.
  void wake_waiters();
  task::StateResponse state(const task::StateRequest& request);
  task::StatsResponse stats(const task::StatsRequest& request);
  task::ConnectResponse connect(const task::ConnectRequest& request);
  void shutdown(const task::ShutdownRequest& request);
  void close_io(const task::CloseIORequest& request);
  void update(const task::UpdateTaskRequest& request);
  void resize_pty(const task::ResizePtyRequest& request);

  std::size_t task_count() const;

 private:
  enum class Phase { created, running, stopped };
  // A task's own process or one exec'd into it: what containerd asks of
  // either (start, kill, wait, state, delete) works on this record.
  struct ProcessRecord {
    std::string exec_id;  // empty: the task's own process
    // An exec's process; null for the task's own (the Instance is it).
    std::unique_ptr<Process> exec;
    std::string stdin_path;
    std::string stdout_path;
    std::string stderr_path;
    bool terminal = false;
    // The shim's own hold on the output fifos, from Create (or Exec) until
    // the process's exit is known (see hold_output in task_service.cc).
    std::vector<base::UniqueFd> output_held;
    Phase phase = Phase::created;
    std::uint32_t pid = 0;
    // Known once the process has gone (State and Delete report it)...
    std::optional<ExitStatus> exit;
    // ...and announced once its TaskExit has been published: Wait returns
    // only then, so whoever saw Wait return can count on the event.
    bool exit_announced = false;
    std::thread exit_watcher;
    // The Start RPC's context, for the span that waits for the exit.
    trace::Parent started_in;
  };
  struct Task {
    InstanceConfig config;
    std::unique_ptr<Instance> instance;
    ProcessRecord init;
    // Records never move: watcher threads hold them by reference. Declared
    // after `instance`, so they go first: an exec uses its container's.
    std::map<std::string, std::unique_ptr<ProcessRecord>> execs;
    // Exec starts under way without the lock; Delete waits for them.
    int starts_in_flight = 0;
    bool rootfs_mounted = false;
  };

  // The task, or NOT_FOUND.
  Task& find_locked(const std::string& id);
  // The task's own process (empty exec_id) or one of its execs, or NOT_FOUND.
  ProcessRecord& find_process_locked(const std::string& id, const std::string& exec_id);
  static Process& process_of(Task& task, ProcessRecord& record);
  task::StartResponse start_exec(const task::StartRequest& request);
  void watch_exit(const std::string& id, Task& task, ProcessRecord& record);
  // Once the task's own process has gone, its execs go too (as in a pid
  // namespace of its own, where the kernel ends them), and their exits are
  // announced before the task's (as containerd's runc shim orders them).
  void end_execs_locked(std::unique_lock<std::mutex>& lock, Task& task);
  // Records the exit, publishes TaskExit, then announces it to waiters.
  void finish(const std::string& id, ProcessRecord& record, ExitStatus status);
  // Deletes an exec that has exited.
  task::DeleteResponse remove_exec(const task::DeleteRequest& request);
  void publish(const std::string& topic, const google::protobuf::MessageLite& event);

  TaskServiceOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable exited_;
  // A Start has ended: its task has a pid, or has stopped.
  std::condition_variable started_;
  std::map<std::string, std::unique_ptr<Task>> tasks_;
  bool shutting_down_ = false;
};

}  // namespace wasmshim::shim
