// The interface an engine implements to run containers under the shim: the
// shim layer owns the task API, the state machine, events and stdio paths;
// an Instance owns one container's workload.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wasmshim/container/cgroup.h"

namespace wasmshim::shim {

struct InstanceConfig {
  std::string id;
  // The bundle directory: config.json and rootfs/ (already mounted).
  std::string bundle;
  std::string namespace_name;
  // Fifo paths containerd gave; empty: /dev/null.
  std::string stdin_path;
  std::string stdout_path;
  std::string stderr_path;
  bool terminal = false;
};

struct ExitStatus {
  std::uint32_t code = 0;
  std::chrono::system_clock::time_point at{};
};

// An exec'd process (Task.Exec): containerd's exec id, the runtime-spec
// Process it sends (JSON), and its own stdio.
struct ExecConfig {
  std::string exec_id;
  std::string process_json;
  std::string stdin_path;
  std::string stdout_path;
  std::string stderr_path;
  bool terminal = false;
};

// One process the shim starts, signals and waits for: a container's own
// (the Instance), or one exec'd into it.
class Process {
 public:
  virtual ~Process() = default;
  // Starts the process; returns its process id.
  virtual std::uint32_t start() = 0;
  // Sends a signal to the running process.
  virtual void kill(std::uint32_t signal) = 0;
  // Blocks until the process has exited (128 + signal for a signal death).
  virtual ExitStatus wait() = 0;
  // Releases what it holds; the process has exited or never started.
  virtual void remove() = 0;
};

// One container. create (the engine's static factory) validates and
// prepares; errors there are reported to containerd at Create, so they must
// say what is wrong (throw ttrpc::StatusError with a code, or any
// std::exception for an internal error).
class Instance : public Process {
 public:
  // Usage from the container's cgroup; none when it has no cgroup (Stats
  // then answers NOT_FOUND saying so).
  virtual std::optional<container::CgroupStats> stats() { return std::nullopt; }
  // After wait(): whether the kernel's OOM killer ended something in the
  // container while it ran (containerd gets a TaskOOM event).
  virtual bool oom_killed() { return false; }
  // Sends a signal to every process in the container (Kill with `all`):
  // its cgroup's members where it has one; by default, its own process.
  virtual void kill_all(std::uint32_t signal) { kill(signal); }
  // A new process in the running container (its namespaces and cgroup),
  // not yet started. Throws ttrpc::StatusError saying why not; an engine
  // without execs answers UNIMPLEMENTED.
  virtual std::unique_ptr<Process> exec(const ExecConfig& config);
};

// What shim_main needs of an engine's instance type.
template <class T>
concept InstanceType = std::derived_from<T, Instance> && requires(const InstanceConfig& config) {
  { T::create(config) } -> std::convertible_to<std::unique_ptr<T>>;
};

}  // namespace wasmshim::shim
