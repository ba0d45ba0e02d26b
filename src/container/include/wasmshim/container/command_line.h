// What `ps` and /proc/PID/cmdline show for a process that was forked, not
// exec'd, into a new role (the shim daemon, a container process).
#pragma once

#include <string>
#include <vector>

namespace wasmshim::container {

// Makes /proc/self/cmdline show `args`: the kernel's record pointed at a
// copy where CAP_SYS_RESOURCE allows, else the original arguments
// overwritten in place, as one space-separated string when longer, running
// into the environment's strings if environ no longer points at them, and
// cut short where the room ends. Returns false, changing nothing, if
// neither can be done. Call with one thread (a daemon before it starts any,
// a forked child).
bool set_command_line(const std::vector<std::string>& args);

// What /proc/self/cmdline shows, program first.
std::vector<std::string> command_line();

}  // namespace wasmshim::container
