// Starting a container's process from a threaded daemon: clone into new
// namespaces with the daemon's memory shared until exec (no fork of the
// daemon's threads, locks or heap), join the namespaces and cgroup the spec
// names, exec.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "wasmshim/container/cgroup.h"
#include "wasmshim/container/oci_spec.h"

namespace wasmshim::container {

struct SpawnRequest {
  std::string path;  // what to exec
  std::vector<std::string> argv;
  std::vector<std::string> env;
  // The spec's namespaces: new ones are created, ones with a path joined.
  std::vector<OciNamespace> namespaces;
  // Joined between clone and exec, so the process never runs outside it.
  const Cgroup* cgroup = nullptr;
  // (from, to): dup2'd in the child; everything else is close-on-exec.
  std::vector<std::pair<int, int>> fds;
  bool new_process_group = true;
  // Exec with every signal blocked, for a program that installs its
  // handlers first and then unblocks: as pid 1 of a new pid namespace, a
  // signal that finds no handler is dropped, while a blocked one waits.
  bool start_with_signals_blocked = false;
};

// Returns the process id (in the caller's pid namespace). Throws
// ContainerSetupError naming the step that failed (a namespace path that
// cannot be joined, the cgroup, exec) and why.
pid_t spawn_container_process(const SpawnRequest& request);

}  // namespace wasmshim::container
