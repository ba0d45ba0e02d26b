#include "wasmshim/shim/environment.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <system_error>

extern char** environ;

namespace wasmshim::shim {

std::vector<std::string> child_environment(const std::vector<std::string>& replacements) {
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> names;
  for (const auto& entry : replacements) {
    names.push_back(name_of(entry));
  }
  std::vector<std::string> out;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text = *entry;
    if (std::find(names.begin(), names.end(), name_of(text)) == names.end()) {
      out.push_back(std::move(text));
    }
  }
  out.insert(out.end(), replacements.begin(), replacements.end());
  return out;
}

std::string self_executable() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) {
    throw std::system_error(errno, std::generic_category(), "readlink /proc/self/exe");
  }
  return std::string(path, static_cast<std::size_t>(n));
}

}  // namespace wasmshim::shim
