// Unix-domain stream sockets for ttrpc: an owning fd, listen and connect.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

namespace wasmshim::ttrpc {

// Owns one file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Accepts "unix:///run/x.sock", "/run/x.sock", and abstract names written
// "@name" or "unix://@name". Throws std::invalid_argument for anything else
// (other schemes, empty or too-long paths).
struct SocketAddress {
  std::string path;       // as given, without the scheme
  bool abstract = false;  // Linux abstract namespace (leading '@')
};
SocketAddress parse_socket_address(std::string_view address);

// Creates, binds and listens (close-on-exec). An existing socket file at the
// path is replaced only when nothing answers on it. Throws std::system_error.
UniqueFd listen_unix(std::string_view address, int backlog = 128);

// Connects, retrying while the socket does not exist yet or refuses, until
// the timeout. Throws std::system_error with the last error.
UniqueFd connect_unix(std::string_view address,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

}  // namespace wasmshim::ttrpc
