// Container processes without exec: a copy of the daemon forked while it
// still has one thread (the zygote) forks each container process, which
// then runs the container code it already holds. An exec of the shim
// binary costs its dynamic linking and start-up again for every container;
// a fork of the small zygote does not. The daemon itself never forks
// without exec: its threads' locks would be copied held.
#pragma once

#include <string>
#include <vector>

namespace wasmshim::container {

// What a container process forked by the zygote runs, with the request's
// argv; its return value is the exit status.
using ZygoteEntry = int (*)(int argc, char** argv);

// Forks this process's zygote. Call while the process has a single thread.
// From then on spawn_container_process has the zygote fork the process
// (clone with CLONE_PARENT: it is this process's child, to wait for) and
// run entry(argv) in place of exec'ing request.path; if the zygote is gone,
// it execs as before. `command_line` is what ps shows for the zygote.
// Returns false, changing nothing, if the zygote cannot be forked.
bool start_zygote(ZygoteEntry entry, const std::vector<std::string>& command_line);

}  // namespace wasmshim::container
