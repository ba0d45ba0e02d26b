// A child's environment: this process's, with some variables replaced.
#pragma once

#include <string>
#include <vector>

namespace wasmshim::shim {

// environ with every NAME=value of `replacements` put in place of any
// inherited value of that NAME (a child must see one TRACEPARENT, not two).
std::vector<std::string> child_environment(const std::vector<std::string>& replacements);

}  // namespace wasmshim::shim
