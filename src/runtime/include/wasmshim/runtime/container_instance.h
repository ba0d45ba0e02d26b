// The shim's Instance: one container whose program (process.args[0], found
// in its rootfs as runc finds an entrypoint) is a Wasm module, run by the
// engine, or a native executable (a pod's pause container, a sidecar), exec'd
// in the same isolation. Each container runs in its own process, made by the
// daemon's zygote (or cloned and exec'd) straight into the spec's namespaces
// and cgroup, so the threaded daemon never forks without exec.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "wasmshim/container/cgroup.h"
#include "wasmshim/container/oci_spec.h"
#include "wasmshim/runtime/program.h"
#include "wasmshim/shim/instance.h"

namespace wasmshim::runtime {

class ShimChild;

class ContainerInstance final : public shim::Instance {
 public:
  ~ContainerInstance() override;
  // Reads config.json and finds the program; throws ttrpc::StatusError
  // (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION) saying why not.
  static std::unique_ptr<ContainerInstance> create(const shim::InstanceConfig& config);

  std::uint32_t start() override;
  void kill(std::uint32_t signal) override;
  // Every process in the container's cgroup (its own process alone when
  // it has none).
  void kill_all(std::uint32_t signal) override;
  shim::ExitStatus wait() override;
  void remove() override;
  std::optional<container::CgroupStats> stats() override;
  bool oom_killed() override { return oom_killed_; }
  // Native containers only: a Wasm module is one process.
  std::unique_ptr<shim::Process> exec(const shim::ExecConfig& config) override;

  const ContainerProgram& program() const { return program_; }

  // A container process's main, whether exec'd or forked by the zygote:
  // argv is the spawn request's (program, kContainerModeFlag, ...).
  static int container_main(int argc, char** argv);

 private:
  ContainerInstance(shim::InstanceConfig config, container::OciSpec spec, ContainerProgram program);
  void make_cgroup();
  void after_exit();

  shim::InstanceConfig config_;
  container::OciSpec spec_;
  ContainerProgram program_;
  std::optional<container::Cgroup> cgroup_;
  std::uint64_t oom_kills_before_ = 0;
  bool oom_killed_ = false;
  std::unique_ptr<ShimChild> child_;
  // The container process's spans: it appends them to a file that this
  // process reads while waiting for it and after it has exited. Null when
  // untraced.
  struct SpanLog;
  std::unique_ptr<SpanLog> span_log_;
  void take_container_spans();
  void wait_for_exit_taking_spans();
};

// The first argument that puts the shim binary in container mode.
inline constexpr const char* kContainerModeFlag = "--wasmshim-container";

// In the bundle: the digest of a module an isolated container ran with jit,
// whose aot build the shim starts once the container is gone. Absent when
// the container ran the cached aot object, so a warm start costs the shim
// nothing after the exit.
inline constexpr const char* kAotWantedFile = "wasmshim-aot-wanted";

}  // namespace wasmshim::runtime
