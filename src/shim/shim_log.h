// The shim's log: logrus-style lines to the bundle's `log` fifo, which
// containerd copies into its own log. Diagnostics only; never traced.
#pragma once

#include <mutex>
#include <string>

namespace wasmshim::shim {

class ShimLog {
 public:
  // Writes to `fd` (taken over); -1: stderr.
  ShimLog(int fd, bool debug, std::string id);
  ~ShimLog();
  ShimLog(const ShimLog&) = delete;
  ShimLog& operator=(const ShimLog&) = delete;

  void info(const std::string& message);
  void warn(const std::string& message);
  void error(const std::string& message);
  void debug(const std::string& message);

 private:
  void write(const char* level, const std::string& message);

  int fd_;
  bool debug_;
  std::string id_;
  std::mutex mutex_;
};

}  // namespace wasmshim::shim
