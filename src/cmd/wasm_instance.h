// The shim's Instance for Wasm containers: the module is process.args[0] in
// the rootfs; each container runs in its own process (this binary again, in
// container mode), cloned straight into the spec's namespaces and cgroup and
// exec'd at once, so the threaded daemon never forks without exec.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "wasmshim/container/cgroup.h"
#include "wasmshim/container/oci_spec.h"
#include "wasmshim/shim/instance.h"
#include "wasmshim/ttrpc/unix_socket.h"

namespace wasmshim::cmd {

class WasmInstance final : public shim::Instance {
 public:
  ~WasmInstance() override;
  // Reads config.json and checks the module is a Wasm file in the rootfs;
  // throws ttrpc::StatusError (INVALID_ARGUMENT, NOT_FOUND) saying why not.
  static std::unique_ptr<WasmInstance> create(const shim::InstanceConfig& config);

  std::uint32_t start() override;
  void kill(std::uint32_t signal) override;
  shim::ExitStatus wait() override;
  void remove() override;
  std::optional<container::CgroupStats> stats() override;
  bool oom_killed() override { return oom_killed_; }

  // A container process's main, whether exec'd or forked by the zygote:
  // argv is the spawn request's (program, kContainerModeFlag, ...).
  static int container_main(int argc, char** argv);

 private:
  WasmInstance(shim::InstanceConfig config, container::OciSpec spec);
  void make_cgroup();
  std::string host_module_path() const;
  void after_exit();

  shim::InstanceConfig config_;
  container::OciSpec spec_;
  std::optional<container::Cgroup> cgroup_;
  std::uint64_t oom_kills_before_ = 0;
  bool oom_killed_ = false;
  pid_t pid_ = 0;
  bool reaped_ = false;
  // The container process's spans: it appends them to a file that this
  // process reads while waiting for it and after it has exited. Null when
  // untraced.
  struct SpanLog;
  std::unique_ptr<SpanLog> span_log_;
  void take_container_spans();
  void wait_for_exit_taking_spans();
};

// The first argument that puts this binary in container mode.
inline constexpr const char* kContainerModeFlag = "--wasmshim-container";

// Container mode: argv after the flag is BUNDLE STDIN STDOUT STDERR (empty:
// /dev/null). Runs the bundle's module and returns its exit status. With
// WASMSHIM_TRACE_FD set, its spans go to the shim through that fd (it never
// waits for a collector itself), children of the context in TRACEPARENT.
inline constexpr int kTraceFd = 3;

// In the bundle: the digest of a module an isolated container ran with jit,
// whose aot build the shim starts once the container is gone. Absent when
// the container ran the cached aot object, so a warm start costs the shim
// nothing after the exit.
inline constexpr const char* kAotWantedFile = "wasmshim-aot-wanted";
int run_wasm_container(int argc, char** argv);

}  // namespace wasmshim::cmd
