// Native programs in the container: a pod's pause container, sidecars, and
// processes exec'd into a running container. The process enters the
// container as a Wasm one does (the same isolation, from the same spec),
// then execs the program the shim resolved at Create or Exec.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "container_process.h"
#include "wasmshim/container/oci_spec.h"
#include "wasmshim/container/setup.h"
#include "wasmshim/otel/instrument.h"

namespace wasmshim::runtime {
namespace {

std::vector<char*> pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

// Returns only when the exec fails, with the status to exit with.
int exec_program(const std::string& path, const container::OciProcess& process) {
  std::vector<char*> argv = pointers(process.args);
  std::vector<char*> envp = pointers(process.env);
  ::execve(path.c_str(), argv.data(), envp.data());
  const int error = errno;
  std::fprintf(stderr, "wasmshim: exec %s: %s\n", path.c_str(), std::strerror(error));
  return error == ENOENT ? kCannotExec : kCannotExec - 1;
}

void fail(const std::string& what) {
  throw container::ContainerSetupError(what + ": " + std::strerror(errno));
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

// The spec the shim handed over on kSpecFd (an exec'd process can no longer
// reach the bundle): the container's, with the exec's own process.
container::OciSpec exec_spec(const ContainerLaunch& launch) {
  std::string text;
  char buffer[16384];
  ssize_t n = 0;
  while ((n = ::read(kSpecFd, buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno != EINTR) {
      fail("reading the container's config.json");
    }
    text.append(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  ::close(kSpecFd);
  container::OciSpec spec = container::parse_oci_spec(text, "/");
  spec.process = container::parse_oci_process(launch.process_json);
  return spec;
}

}  // namespace

int run_native_container(const ContainerLaunch& launch) {
  container::OciSpec spec;
  {
    ContainerTracing tracing;
    close_daemon_fds(tracing);
    if (!redirect_stdio(launch)) {
      std::perror("wasmshim container: opening stdio");
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

// Already in the container's namespaces and cgroup (the shim's spawn joined
// them), with its stdio on fds 0-2: only the process's own settings remain.
int run_exec_process(const ContainerLaunch& launch) {
  container::OciSpec spec;
  try {
    spec = exec_spec(launch);
    ::close_range(3, ~0U, 0);
    const container::OciNamespace* mount = container::find_namespace(spec, "mount");
    // In a container without a mount namespace of its own the root is
    // still the host's: the rootfs path the shim resolved is under it.
    const bool in_container_root = mount != nullptr && mount->path.empty();
    if (!in_container_root) {
      spec.root_path = launch.bundle;
    }
    container::apply_rlimits(spec);
    container::apply_oom_score_adj(spec.process);
    enter_root_and_cwd(spec, in_container_root);
    container::apply_apparmor_profile(spec.process);
    container::drop_privileges(spec);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wasmshim exec: %s\n", e.what());
    return kCannotRun;
  }
  return exec_program(launch.program, spec.process);
}

}  // namespace wasmshim::runtime
