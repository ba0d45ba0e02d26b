// What the Task service tests drive it with: instances and exec'd processes
// whose exits the test decides, an event sink that records what was sent,
// and a service wired to them.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "task_service.h"
#include "wasmshim/ttrpc/status.h"

namespace wasmshim::shim {
namespace {

using ttrpc::StatusCode;
using ttrpc::StatusError;

// A process whose workload is a promise the test keeps.
struct ProcessControl {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<std::uint32_t> exit_code;
  std::vector<std::uint32_t> signals;
  bool removed = false;
  bool fail_start = false;
  bool hold_start = false;  // start() waits until it is false again
  bool start_entered = false;
  std::optional<container::CgroupStats> stats;
  bool oom = false;
  bool killed_all = false;  // Kill came with `all`
  // Set: the instance's execs are processes this controls (and their
  // configs are kept here); unset: exec is the Instance default.
  std::shared_ptr<ProcessControl> exec;
  std::vector<ExecConfig> exec_configs;

  void finish(std::uint32_t code) {
    std::lock_guard lock(mutex);
    exit_code = code;
    changed.notify_all();
  }
  std::uint32_t start(std::uint32_t pid) {
    {
      std::unique_lock lock(mutex);
      start_entered = true;
      changed.notify_all();
      changed.wait(lock, [&] { return !hold_start; });
    }
    if (fail_start) {
      throw StatusError(StatusCode::kFailedPrecondition, "module has no _start");
    }
    return pid;
  }
  void kill(std::uint32_t signal) {
    std::lock_guard lock(mutex);
    signals.push_back(signal);
    exit_code = 128 + signal;
    changed.notify_all();
  }
  ExitStatus wait() {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return exit_code.has_value(); });
    return {*exit_code, std::chrono::system_clock::now()};
  }
  void remove() {
    std::lock_guard lock(mutex);
    removed = true;
  }
};

// A process exec'd into a TestInstance.
class TestExec final : public Process {
 public:
  explicit TestExec(std::shared_ptr<ProcessControl> control) : control_(std::move(control)) {}
  std::uint32_t start() override { return control_->start(4343); }
  void kill(std::uint32_t signal) override { control_->kill(signal); }
  ExitStatus wait() override { return control_->wait(); }
  void remove() override { control_->remove(); }

 private:
  std::shared_ptr<ProcessControl> control_;
};

class TestInstance final : public Instance {
 public:
  using Control = ProcessControl;

  explicit TestInstance(std::shared_ptr<Control> control) : control_(std::move(control)) {}
  std::uint32_t start() override { return control_->start(4242); }
  void kill(std::uint32_t signal) override { control_->kill(signal); }
  void kill_all(std::uint32_t signal) override {
    {
      std::lock_guard lock(control_->mutex);
      control_->killed_all = true;
    }
    control_->kill(signal);
  }
  ExitStatus wait() override { return control_->wait(); }
  void remove() override { control_->remove(); }
  std::optional<container::CgroupStats> stats() override {
    std::lock_guard lock(control_->mutex);
    return control_->stats;
  }
  bool oom_killed() override {
    std::lock_guard lock(control_->mutex);
    return control_->oom;
  }
  std::unique_ptr<Process> exec(const ExecConfig& config) override {
    std::shared_ptr<Control> exec_control;
    {
      std::lock_guard lock(control_->mutex);
      exec_control = control_->exec;
      if (exec_control) {
        control_->exec_configs.push_back(config);
      }
    }
    if (!exec_control) {
      return Instance::exec(config);
    }
    return std::make_unique<TestExec>(exec_control);
  }

 private:
  std::shared_ptr<Control> control_;
};

class RecordingEvents final : public EventSink {
 public:
  void publish(const std::string& topic, const google::protobuf::MessageLite& event) override {
    std::lock_guard lock(mutex_);
    topics_.push_back(topic);
    if (auto* exit = dynamic_cast<const ::containerd::events::TaskExit*>(&event)) {
      last_exit_status_ = exit->exit_status();
      exit_ids_.push_back(exit->id());
    }
  }
  std::vector<std::string> topics() {
    std::lock_guard lock(mutex_);
    return topics_;
  }
  // The id of each TaskExit: the task's, or an exec's.
  std::vector<std::string> exit_ids() {
    std::lock_guard lock(mutex_);
    return exit_ids_;
  }
  std::optional<std::uint32_t> last_exit_status() {
    std::lock_guard lock(mutex_);
    return last_exit_status_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> topics_;
  std::optional<std::uint32_t> last_exit_status_;
  std::vector<std::string> exit_ids_;
};

struct Fixture {
  std::shared_ptr<TestInstance::Control> control = std::make_shared<TestInstance::Control>();
  RecordingEvents events;
  std::vector<std::string> mounted, unmounted;
  int shutdowns = 0;
  std::unique_ptr<TaskService> service;

  Fixture() {
    TaskServiceOptions options;
    options.create_instance = [this](const InstanceConfig& config) -> std::unique_ptr<Instance> {
      if (config.bundle == "/bundles/bad-module") {
        throw StatusError(StatusCode::kInvalidArgument, "/demo.wasm: not a Wasm module");
      }
      if (config.bundle == "/bundles/broken") {
        throw std::runtime_error("disk on fire");
      }
      return std::make_unique<TestInstance>(control);
    };
    options.events = &events;
    options.namespace_name = "test";
    options.mount_rootfs = [this](const std::string& bundle, const Mounts& mounts) {
      if (mounts.Get(0).type() == "fail") {
        throw std::runtime_error("mount: no such device");
      }
      mounted.push_back(bundle);
    };
    options.unmount_rootfs = [this](const std::string& bundle) { unmounted.push_back(bundle); };
    options.on_shutdown = [this] { ++shutdowns; };
    options.version = "test";
    service = std::make_unique<TaskService>(std::move(options));
  }

  static task::CreateTaskRequest create_request(const std::string& id,
                                                const std::string& bundle = "/bundles/ok") {
    task::CreateTaskRequest request;
    request.set_id(id);
    request.set_bundle(bundle);
    request.set_stdout("/run/fifo/stdout");
    auto* mount = request.add_rootfs();
    mount->set_type("overlay");
    mount->set_source("overlay");
    return request;
  }
  template <class R>
  static R with_id(const std::string& id) {
    R request;
    request.set_id(id);
    return request;
  }
};

StatusCode code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const StatusError& e) {
    return e.status().code();
  }
  return StatusCode::kOk;
}

}  // namespace
}  // namespace wasmshim::shim
