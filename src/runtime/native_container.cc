// Native programs in the container: a pod's pause container, sidecars, and
// processes exec'd into a running container. The process enters the
// container as a Wasm one does (the same isolation, from the same spec),
// then execs the program the shim resolved at Create or Exec.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

#include "container_process.h"
#include "wasmshim/base/c_strings.h"
#include "wasmshim/base/fd_io.h"
#include "wasmshim/container/oci_spec.h"
#include "wasmshim/container/setup.h"
#include "wasmshim/otel/instrument.h"

namespace wasmshim::runtime {
namespace {

// Returns only when the exec fails, with the status to exit with.
int exec_program(const std::string& path, const container::OciProcess& process) {
  std::vector<char*> argv = base::c_string_array(process.args);
  std::vector<char*> envp = base::c_string_array(process.env);
  ::execve(path.c_str(), argv.data(), envp.data());
  const int error = errno;
  std::fprintf(stderr, "wasmshim: exec %s: %s\n", path.c_str(),
               std::generic_category().message(error).c_str());
  return error == ENOENT ? kCannotExec : kCannotExec - 1;
}

void fail(const std::string& what) {
  throw container::ContainerSetupError(what + ": " + std::generic_category().message(errno));
}

// The container's root without a mount namespace of its own, and the
// process's working directory; both before the ids change, as runc does.
void enter_root_and_cwd(const container::OciSpec& spec, bool pivoted) {
  if (!pivoted && ::chroot(spec.root_path.c_str()) != 0) {
    fail("chroot " + spec.root_path);
  }
  if (::chdir(spec.process.cwd.c_str()) != 0) {
    fail("chdir to process.cwd " + spec.process.cwd);
  }
}

// The container's spec with the exec's own process (from kExecProcessFd),
// read while the bundle is still in reach.
container::OciSpec exec_spec(const ContainerLaunch& launch) {
  const auto process = base::read_all(kExecProcessFd);
  if (!process) {
    fail("reading the exec's process");
  }
  container::OciSpec spec = container::load_oci_spec(launch.bundle);
  spec.process = container::parse_oci_process(*process);
  return spec;
}

}  // namespace

int run_native_container(const ContainerLaunch& launch) {
  container::OciSpec spec;
  {
    ContainerTracing tracing;
    if (!take_stdio(launch, tracing)) {
      return kCannotRun;
    }
    trace::ScopedSpan span("wasmshim.container", "container.run", trace::Kind::internal,
                           tracing.parent());
    span.set("container.bundle", launch.bundle).set("container.program", launch.program);
    try {
      spec = container::load_oci_spec(launch.bundle);
      enter_container(spec, [&](bool pivoted) {
        enter_root_and_cwd(spec, pivoted);
        container::apply_apparmor_profile(spec.process);
      });
    } catch (const std::exception& e) {
      std::fprintf(stderr, "wasmshim: %s\n", e.what());
      span.fail(e.what());
      return kCannotRun;
    }
    // The spans end and are written here: nothing of this process is left
    // to write them once the program runs.
  }
  return exec_program(launch.program, spec.process);
}

// In the container's cgroup and its namespaces but the mount one (the
// shim's spawn joined them), with its stdio on fds 0-2: the mount namespace
// and the process's own settings remain.
int run_exec_process(const ContainerLaunch& launch) {
  container::OciSpec spec;
  try {
    spec = exec_spec(launch);
    // Passed only when the container has a mount namespace of its own;
    // without one, its root is a directory of the host's to chroot into.
    const bool own_mount_namespace = ::fcntl(kExecMountNamespaceFd, F_GETFD) != -1;
    if (own_mount_namespace && ::setns(kExecMountNamespaceFd, CLONE_NEWNS) != 0) {
      fail("joining the container's mount namespace");
    }
    ::close_range(3, ~0U, 0);
    container::apply_rlimits(spec);
    container::apply_oom_score_adj(spec.process);
    enter_root_and_cwd(spec, own_mount_namespace);
    container::apply_apparmor_profile(spec.process);
    container::drop_privileges(spec);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wasmshim exec: %s\n", e.what());
    return kCannotRun;
  }
  return exec_program(launch.program, spec.process);
}

}  // namespace wasmshim::runtime
