// Test support: the processes on this machine, as /proc shows them, for
// tests and benchmarks that look for the shim's processes from outside.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace wasmshim::testing {

// Every process's pid.
inline std::vector<pid_t> process_ids() {
  std::vector<pid_t> pids;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
      pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return pids;
}

// /proc/PID/cmdline with its separators as spaces; empty once it has gone.
inline std::string command_line_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  for (char& c : text) {
    c = c == '\0' ? ' ' : c;
  }
  return text;
}

// The processes whose command line holds `needle`.
inline std::vector<pid_t> processes_named(const std::string& needle) {
  std::vector<pid_t> found;
  for (const pid_t pid : process_ids()) {
    if (command_line_of(pid).find(needle) != std::string::npos) {
      found.push_back(pid);
    }
  }
  return found;
}

// How many write calls the process has made so far, failed ones too, in
// all its threads (/proc/PID/io's syscw); nothing once it has gone.
inline std::optional<unsigned long long> write_calls(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  unsigned long long value = 0;
  while (in >> key >> value) {
    if (key == "syscw:") {
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace wasmshim::testing
