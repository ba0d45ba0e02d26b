// Test support: a process's /proc/PID/stat, read by the tests and the
// benchmarks that follow processes from outside.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace wasmshim::testing {

// The fields after the command name: [0] is the state, [1] the parent's
// pid, [11] and [12] user and system time in clock ticks (stat(5)'s fields
// 3, 4, 14 and 15). Nothing when the process is gone.
inline std::optional<std::vector<std::string>> proc_stat_fields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto close = text.rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) {
    fields.push_back(field);
  }
  return fields;
}

inline pid_t parent_of(pid_t pid) {
  const auto fields = proc_stat_fields(pid);
  return fields && fields->size() > 1 ? static_cast<pid_t>(std::stol((*fields)[1])) : 0;
}

// Running or asleep: not gone, and not a zombie waiting for its parent.
inline bool alive(pid_t pid) {
  const auto fields = proc_stat_fields(pid);
  return pid > 0 && fields && !fields->empty() && (*fields)[0] != "Z";
}

// User plus system CPU time, in milliseconds.
inline double cpu_ms(pid_t pid) {
  const auto fields = proc_stat_fields(pid);
  if (!fields || fields->size() < 13) {
    return 0;
  }
  const double ticks = std::stod((*fields)[11]) + std::stod((*fields)[12]);
  return ticks * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace wasmshim::testing
