#include "wasmshim/ttrpc/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace wasmshim::ttrpc {
namespace {

constexpr std::string_view kUnixScheme = "unix://";

std::system_error errno_error(const std::string& what) {
  return {errno, std::generic_category(), what};
}

// Fills a sockaddr_un; returns the length to pass to bind/connect.
socklen_t make_sockaddr(const SocketAddress& address, sockaddr_un& out) {
  std::memset(&out, 0, sizeof out);
  out.sun_family = AF_UNIX;
  if (address.abstract) {
    // Abstract names start with a NUL byte and are not NUL-terminated.
    std::memcpy(out.sun_path + 1, address.path.data() + 1, address.path.size() - 1);
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.path.size());
  }
  std::memcpy(out.sun_path, address.path.data(), address.path.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.path.size() + 1);
}

UniqueFd new_stream_socket() {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    throw errno_error("socket");
  }
  return fd;
}

bool try_connect(const SocketAddress& address, UniqueFd& fd_out, int& error_out) {
  UniqueFd fd = new_stream_socket();
  sockaddr_un addr{};
  socklen_t len = make_sockaddr(address, addr);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), len) == 0) {
    fd_out = std::move(fd);
    return true;
  }
  error_out = errno;
  return false;
}

}  // namespace

SocketAddress parse_socket_address(std::string_view address) {
  std::string_view rest = address;
  if (rest.starts_with(kUnixScheme)) {
    rest.remove_prefix(kUnixScheme.size());
  } else if (rest.find("://") != std::string_view::npos) {
    throw std::invalid_argument("unsupported socket address \"" + std::string(address) +
                                "\": only unix:// addresses are supported");
  }
  if (rest.empty() || rest == "@") {
    throw std::invalid_argument("empty socket address \"" + std::string(address) + "\"");
  }
  // sun_path holds 108 bytes including the terminating NUL.
  if (rest.size() >= sizeof(sockaddr_un::sun_path)) {
    throw std::invalid_argument("socket path \"" + std::string(rest) + "\" is longer than " +
                                std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  }
  if (rest.find('\0') != std::string_view::npos) {
    throw std::invalid_argument("socket address contains a NUL byte");
  }
  return SocketAddress{std::string(rest), rest.front() == '@'};
}

UniqueFd listen_unix(std::string_view address_text, int backlog) {
  SocketAddress address = parse_socket_address(address_text);
  if (!address.abstract) {
    struct stat st {};
    if (::lstat(address.path.c_str(), &st) == 0) {
      UniqueFd probe;
      int error = 0;
      if (S_ISSOCK(st.st_mode) && try_connect(address, probe, error)) {
        throw std::system_error(EADDRINUSE, std::generic_category(),
                                "listen " + address.path + ": a server already answers there");
      }
      if (!S_ISSOCK(st.st_mode)) {
        throw std::system_error(EEXIST, std::generic_category(),
                                "listen " + address.path + ": exists and is not a socket");
      }
      ::unlink(address.path.c_str());  // a stale socket left by a dead server
    }
  }
  UniqueFd fd = new_stream_socket();
  sockaddr_un addr{};
  socklen_t len = make_sockaddr(address, addr);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    throw errno_error("bind " + address.path);
  }
  if (::listen(fd.get(), backlog) != 0) {
    throw errno_error("listen " + address.path);
  }
  return fd;
}

UniqueFd connect_unix(std::string_view address_text, std::chrono::milliseconds timeout) {
  SocketAddress address = parse_socket_address(address_text);
  auto give_up = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    UniqueFd fd;
    int error = 0;
    if (try_connect(address, fd, error)) {
      return fd;
    }
    bool retryable = error == ENOENT || error == ECONNREFUSED || error == EAGAIN;
    if (!retryable || std::chrono::steady_clock::now() >= give_up) {
      throw std::system_error(error, std::generic_category(), "connect " + address.path);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace wasmshim::ttrpc
