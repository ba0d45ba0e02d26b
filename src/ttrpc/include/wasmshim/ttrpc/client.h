// A ttrpc client: unary calls over one unix-socket connection, any number of
// them in flight at once from any threads.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "wasmshim/ttrpc/message.h"
#include "wasmshim/ttrpc/status.h"
#include "wasmshim/ttrpc/unix_socket.h"

namespace wasmshim::ttrpc {

struct CallOptions {
  // Sent to the server as timeout_nano and enforced here: when it passes the
  // call returns DEADLINE_EXCEEDED and a late answer is dropped.
  std::optional<std::chrono::nanoseconds> timeout;
  Metadata metadata;
};

class Client {
 public:
  // Connects to the address (see connect_unix), waiting up to connect_timeout
  // for the socket to appear. Throws std::system_error.
  static std::unique_ptr<Client> connect(
      std::string_view address,
      std::chrono::milliseconds connect_timeout = std::chrono::milliseconds(0));
  // Takes a connected stream socket.
  explicit Client(UniqueFd connection);
  ~Client();  // closes; calls still waiting get UNAVAILABLE
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request and waits for its answer. Transport problems come back as
  // statuses too: UNAVAILABLE (connection closed or broken), DEADLINE_EXCEEDED,
  // RESOURCE_EXHAUSTED (request larger than the protocol allows), INTERNAL
  // (undecodable response).
  Response call(std::string_view service, std::string_view method, std::string_view payload,
                const CallOptions& options = {});

  // Closes the connection now; waiting calls get UNAVAILABLE.
  void close();
  bool is_open() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wasmshim::ttrpc
