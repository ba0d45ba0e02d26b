// Helpers shared by the ttrpc tests.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "support/temp_dir.h"
#include "wasmshim/ttrpc/frame.h"
#include "wasmshim/ttrpc/message.h"
#include "wasmshim/ttrpc/unix_socket.h"

namespace wasmshim::ttrpc::testing {

using wasmshim::testing::TempDir;

// A byte string from small integers, for hand-assembled wire data.
inline std::string bytes_of(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) {
    out.push_back(static_cast<char>(v));
  }
  return out;
}

// Speaks raw frames, for what the real client never sends.
class RawConnection {
 public:
  explicit RawConnection(const std::string& address)
      : fd_(connect_unix(address, std::chrono::seconds(5))) {}

  void write(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void send_request(std::uint32_t stream_id, const Request& request) {
    write(encode_frame(stream_id, MessageType::kRequest, 0, encode_request(request)));
  }

  // Next frame, or nothing when the connection closed or nothing came in time.
  std::optional<Frame> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto give_up = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto decoded = decoder_.next()) {
        return decoded->frame;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          give_up - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return std::nullopt;
      }
      pollfd pfd{fd_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
        return std::nullopt;
      }
      char buffer[4096];
      ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
      if (n <= 0) {
        return std::nullopt;
      }
      decoder_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    }
  }

  std::optional<Response> read_response(std::uint32_t expected_stream) {
    auto frame = read_frame();
    if (!frame || frame->header.stream_id != expected_stream ||
        frame->header.type != static_cast<std::uint8_t>(MessageType::kResponse)) {
      return std::nullopt;
    }
    return decode_response(frame->data);
  }

  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  FrameDecoder decoder_;
};

// Polls a condition until it holds or a generous limit passes. For waiting on
// background threads, never for judging speed.
template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto give_up = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < give_up) {
    if (predicate()) {
      return true;
    }
    ::usleep(2000);
  }
  return predicate();
}

}  // namespace wasmshim::ttrpc::testing
