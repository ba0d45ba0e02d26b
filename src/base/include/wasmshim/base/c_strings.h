// Strings as the C calls that take argv and envp want them.
#pragma once

#include <string>
#include <vector>

namespace wasmshim::base {

// Pointers to each string's characters, then a null. The strings must
// outlive the array and stay unchanged; the callee must not write through
// the pointers (execve and main's argv do not).
inline std::vector<char*> c_string_array(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

}  // namespace wasmshim::base
