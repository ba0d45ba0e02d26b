// A process exec'd into a running native container (Task.Exec: kubelet's
// exec probes, `kubectl exec`, CRI's ExecSync): it joins the container's
// namespaces and cgroup, takes the exec's own process settings (args, env,
// cwd, user, capabilities) and the container's seccomp profile, and runs
// with its own stdio.
#pragma once

#include <sys/types.h>

#include <string>

#include "shim_child.h"
#include "wasmshim/container/cgroup.h"
#include "wasmshim/container/oci_spec.h"
#include "wasmshim/runtime/program.h"
#include "wasmshim/shim/instance.h"

namespace wasmshim::runtime {

// The running container an exec joins: its process (the pid, and a pidfd
// that tells whether that pid is still that process) and its cgroup (may
// be null). Both belong to the container's instance, which outlives its
// execs (the Task service releases execs first).
struct ExecTarget {
  pid_t init_pid = 0;
  int init_pidfd = -1;
  std::string bundle;
  const container::Cgroup* cgroup = nullptr;
};

class ExecProcess final : public shim::Process {
 public:
  // Parses the exec's process and finds its program inside the running
  // container; throws ttrpc::StatusError saying what is wrong.
  ExecProcess(ExecTarget target, shim::ExecConfig config);
  ~ExecProcess() override;

  std::uint32_t start() override;
  void kill(std::uint32_t signal) override;
  shim::ExitStatus wait() override;
  void remove() override;

 private:
  ExecTarget target_;
  shim::ExecConfig config_;
  container::OciProcess process_;
  ContainerProgram program_;
  ShimChild child_;
};

}  // namespace wasmshim::runtime
