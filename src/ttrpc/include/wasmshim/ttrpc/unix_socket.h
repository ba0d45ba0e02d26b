// Unix-domain stream sockets for ttrpc: an owning fd, listen and connect.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "wasmshim/base/unique_fd.h"

namespace wasmshim::ttrpc {

using base::UniqueFd;

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
