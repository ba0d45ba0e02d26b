// What a process the shim starts inherits: its environment (this process's,
// with some variables replaced) and this executable's path.
#pragma once

#include <string>
#include <vector>

namespace wasmshim::shim {

// environ with every NAME=value of `replacements` put in place of any
// inherited value of that NAME (a child must see one TRACEPARENT, not two).
std::vector<std::string> child_environment(const std::vector<std::string>& replacements);

// The path of this process's executable (/proc/self/exe); throws
// std::system_error if it cannot be read.
std::string self_executable();

}  // namespace wasmshim::shim
