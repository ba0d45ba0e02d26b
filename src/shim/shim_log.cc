#include "shim_log.h"

#include <unistd.h>

#include <chrono>
#include <ctime>

namespace wasmshim::shim {
namespace {

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string now_rfc3339() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long>(micros));
  return text;
}

}  // namespace

ShimLog::ShimLog(int fd, bool debug, std::string id) : fd_(fd), debug_(debug), id_(std::move(id)) {}

ShimLog::~ShimLog() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void ShimLog::info(const std::string& message) {
  write("info", message);
}
void ShimLog::warn(const std::string& message) {
  write("warning", message);
}
void ShimLog::error(const std::string& message) {
  write("error", message);
}
void ShimLog::debug(const std::string& message) {
  if (debug_) {
    write("debug", message);
  }
}

void ShimLog::write(const char* level, const std::string& message) {
  const std::string line = "time=\"" + now_rfc3339() + "\" level=" + level +
                           " msg=" + quoted(message) + " runtime=wasmshim id=" + id_ + "\n";
  std::lock_guard lock(mutex_);
  // A gone reader (containerd restarted) must not kill the shim: SIGPIPE is
  // ignored by the daemon, and a failed write is dropped.
  const ssize_t written = ::write(fd_ >= 0 ? fd_ : STDERR_FILENO, line.data(), line.size());
  (void)written;
}

}  // namespace wasmshim::shim
