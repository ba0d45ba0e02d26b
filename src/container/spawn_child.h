// What spawn.cc and zygote.cc share: the plan a new container process
// follows between clone and running its program, and the daemon's side of
// a spawn (namespaces and cgroup opened, the error pipe read).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "wasmshim/base/unique_fd.h"
#include "wasmshim/container/spawn.h"

namespace wasmshim::container::detail {

// The steps the child reports a failure of.
enum class Step : int { join_namespace, join_cgroup, cgroup_namespace, process_group, fds, exec };

// Everything the child touches, made ready before clone: a child of the
// exec path shares the daemon's memory until exec and may only make
// system calls.
struct ChildPlan {
  std::vector<std::pair<int, int>> join_fds;  // (fd, nstype)
  std::vector<int> cgroup_fds;
  bool new_cgroup_namespace = false;
  bool new_process_group = true;
  std::vector<std::pair<int, int>> fds;  // (from, to)
  sigset_t child_mask{};
  int error_fd = -1;
};

// Writes (step, errno, index) to the error pipe and exits 127.
[[noreturn]] void child_fail(const ChildPlan& plan, Step step, std::size_t index);

// In the child: signal handlers back to defaults, the cgroup then the
// namespaces joined, the process group, fds in place, the signal mask. Exits
// through child_fail when a step fails.
void prepare_child(const ChildPlan& plan);

// The daemon's side of one spawn: what the spec's namespaces and cgroup
// need opened, and the pipe the child reports a failed step on.
struct PreparedSpawn {
  int clone_flags = 0;  // namespaces to create
  bool new_cgroup_namespace = false;
  std::vector<base::UniqueFd> join_fds;
  std::vector<int> join_types;
  std::vector<std::string> join_paths;  // for messages
  std::string pid_namespace_path;       // to join: only children can
  std::vector<base::UniqueFd> cgroup_fds;
  base::UniqueFd error_read;
  base::UniqueFd error_write;
};

// Throws ContainerSetupError naming a namespace or cgroup it cannot open.
PreparedSpawn prepare_spawn(const SpawnRequest& request);

// After clone: the daemon's copy of the error pipe's write end closed,
// waits for the child to run its program or report a failed step; throws
// ContainerSetupError naming the step (the child reaped).
pid_t finish_spawn(PreparedSpawn& prepared, pid_t pid);

}  // namespace wasmshim::container::detail
