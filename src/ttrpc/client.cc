#include "wasmshim/ttrpc/client.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "wasmshim/ttrpc/frame.h"

namespace wasmshim::ttrpc {
namespace {

constexpr std::size_t kReadChunk = std::size_t{64} * 1024;

Response failure(StatusCode code, std::string message) {
  return Response{Status(code, std::move(message)), {}};
}

}  // namespace

class Client::Impl {
 public:
  explicit Impl(UniqueFd fd) : fd_(std::move(fd)) {
    reader_ = std::thread([this] { read_loop(); });
  }

  ~Impl() {
    close();
    reader_.join();
  }

  Response call(std::string_view service, std::string_view method, std::string_view payload,
                const CallOptions& options);

  void close() {
    std::lock_guard lock(mu_);
    if (!closed_) {
      closed_reason_ = "connection closed by the client";
    }
    // The reader sees end of stream, fails every waiting call and exits.
    ::shutdown(fd_.get(), SHUT_RDWR);
  }

  bool is_open() const {
    std::lock_guard lock(mu_);
    return !closed_;
  }

 private:
  void read_loop();
  void deliver(const DecodedFrame& decoded);
  void fail_all(const std::string& reason);
  bool send_frame(const std::string& frame);

  UniqueFd fd_;
  std::thread reader_;
  mutable std::mutex mu_;
  std::unordered_map<std::uint32_t, std::promise<Response>> pending_;
  std::uint32_t next_stream_id_ = 1;
  bool closed_ = false;
  std::string closed_reason_;
  std::mutex write_mu_;
};

Response Client::Impl::call(std::string_view service, std::string_view method,
                            std::string_view payload, const CallOptions& options) {
  Request request{std::string(service), std::string(method), std::string(payload), 0,
                  options.metadata};
  if (options.timeout) {
    // A non-positive timeout means "already expired"; send the smallest deadline.
    request.timeout_nano = std::max<std::int64_t>(options.timeout->count(), 1);
  }
  std::string body = encode_request(request);
  if (body.size() > kMaxMessageSize) {
    return failure(StatusCode::kResourceExhausted,
                   "request of " + std::to_string(body.size()) +
                       " bytes exceeds the maximum message size of " +
                       std::to_string(kMaxMessageSize));
  }
  auto started = std::chrono::steady_clock::now();
  std::uint32_t stream_id = 0;
  std::future<Response> answer;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      return failure(StatusCode::kUnavailable, closed_reason_);
    }
    // Client streams are odd; skip ids still in use after a wrap-around.
    do {
      stream_id = next_stream_id_;
      next_stream_id_ += 2;
    } while (pending_.count(stream_id) != 0);
    answer = pending_[stream_id].get_future();
  }
  if (!send_frame(encode_frame(stream_id, MessageType::kRequest, 0, body))) {
    std::string reason = std::string("write failed: ") + std::generic_category().message(errno);
    std::lock_guard lock(mu_);
    pending_.erase(stream_id);
    return failure(StatusCode::kUnavailable, reason);
  }
  if (!options.timeout) {
    return answer.get();
  }
  auto deadline = started + *options.timeout;
  if (answer.wait_until(deadline) == std::future_status::ready) {
    return answer.get();
  }
  {
    std::lock_guard lock(mu_);
    if (pending_.erase(stream_id) == 1) {
      return failure(StatusCode::kDeadlineExceeded, "no answer to " + request.service + "/" +
                                                        request.method + " within the deadline");
    }
  }
  return answer.get();  // answered while we were giving up
}

bool Client::Impl::send_frame(const std::string& frame) {
  std::lock_guard lock(write_mu_);
  std::string_view rest = frame;
  while (!rest.empty()) {
    ssize_t n = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      int saved = errno;
      ::shutdown(fd_.get(), SHUT_RDWR);  // a torn frame poisons the stream
      errno = saved;
      return false;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void Client::Impl::read_loop() {
  FrameDecoder decoder;
  // Not zeroed: a page of it is touched only when a read reaches it, and
  // most messages fit in the first.
  const auto chunk = std::make_unique_for_overwrite<char[]>(kReadChunk);
  std::string reason;
  for (;;) {
    ssize_t n = ::recv(fd_.get(), chunk.get(), kReadChunk, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      reason = std::string("connection broken: ") + std::generic_category().message(errno);
      break;
    }
    if (n == 0) {
      reason = "connection closed by the server";
      break;
    }
    decoder.feed(std::string_view(chunk.get(), static_cast<std::size_t>(n)));
    while (auto decoded = decoder.next()) {
      deliver(*decoded);
    }
  }
  fail_all(reason);
}

void Client::Impl::deliver(const DecodedFrame& decoded) {
  const FrameHeader& header = decoded.frame.header;
  if (header.type != static_cast<std::uint8_t>(MessageType::kResponse)) {
    return;  // stream data or newer message types: not for a unary client
  }
  Response response;
  if (decoded.kind == DecodedFrame::Kind::kOversized) {
    response =
        failure(StatusCode::kResourceExhausted, "response of " + std::to_string(header.length) +
                                                    " bytes exceeds the maximum message size");
  } else if (auto parsed = decode_response(decoded.frame.data)) {
    response = std::move(*parsed);
  } else {
    response = failure(StatusCode::kInternal, "cannot decode ttrpc response");
  }
  std::promise<Response> waiter;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(header.stream_id);
    if (it == pending_.end()) {
      return;  // the caller gave up (deadline) or the id is bogus
    }
    waiter = std::move(it->second);
    pending_.erase(it);
  }
  waiter.set_value(std::move(response));
}

void Client::Impl::fail_all(const std::string& reason) {
  std::unordered_map<std::uint32_t, std::promise<Response>> pending;
  std::string message;
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      closed_ = true;
      if (closed_reason_.empty()) {
        closed_reason_ = reason;
      }
    }
    message = closed_reason_;
    pending.swap(pending_);
  }
  for (auto& [id, waiter] : pending) {
    waiter.set_value(failure(StatusCode::kUnavailable, message));
  }
}

std::unique_ptr<Client> Client::connect(std::string_view address,
                                        std::chrono::milliseconds connect_timeout) {
  return std::make_unique<Client>(connect_unix(address, connect_timeout));
}

Client::Client(UniqueFd connection) : impl_(std::make_unique<Impl>(std::move(connection))) {}

Client::~Client() = default;

Response Client::call(std::string_view service, std::string_view method, std::string_view payload,
                      const CallOptions& options) {
  return impl_->call(service, method, payload, options);
}

void Client::close() {
  impl_->close();
}

bool Client::is_open() const {
  return impl_->is_open();
}

}  // namespace wasmshim::ttrpc
