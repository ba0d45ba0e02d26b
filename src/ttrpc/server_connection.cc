#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <system_error>

#include "server_impl.h"

namespace wasmshim::ttrpc {
namespace {

constexpr std::size_t kReadChunk = std::size_t{64} * 1024;

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

ServerConnection::ServerConnection(Server::Impl& server, UniqueFd fd, int peer_pid, int peer_uid)
    : server_(server), fd_(std::move(fd)), peer_pid_(peer_pid), peer_uid_(peer_uid) {}

ServerConnection::~ServerConnection() {
  join();
}

void ServerConnection::start() {
  reader_ = std::thread([this] { read_loop(); });
}

void ServerConnection::close() {
  closed_->set();
  // Wakes a blocked recv() in the reader and a blocked send() in a handler.
  ::shutdown(fd_.get(), SHUT_RDWR);
}

void ServerConnection::join() {
  std::lock_guard lock(join_mu_);
  if (!reader_.joinable()) {
    return;
  }
  if (reader_.get_id() == std::this_thread::get_id()) {
    reader_.detach();  // last owner released on the reader itself: it is about to return
  } else {
    reader_.join();
  }
}

void ServerConnection::read_loop() {
  FrameDecoder decoder;
  // Not zeroed: a page of it is touched only when a read reaches it, and
  // most messages fit in the first.
  const auto chunk = std::make_unique_for_overwrite<char[]>(kReadChunk);
  for (;;) {
    ssize_t n = ::recv(fd_.get(), chunk.get(), kReadChunk, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (n < 0 && !closed_->is_set()) {
        server_.log(std::string("ttrpc: connection read failed: ") +
                    std::generic_category().message(errno));
      } else if (n == 0 && !decoder.at_frame_boundary()) {
        server_.log("ttrpc: connection closed in the middle of a frame");
      }
      break;
    }
    decoder.feed(std::string_view(chunk.get(), static_cast<std::size_t>(n)));
    while (auto decoded = decoder.next()) {
      handle(*decoded);
    }
  }
  closed_->set();
  server_.connection_ended(this);
}

void ServerConnection::handle(const DecodedFrame& decoded) {
  const FrameHeader& header = decoded.frame.header;
  if (decoded.kind == DecodedFrame::Kind::kOversized) {
    send(header.stream_id, Response{Status(StatusCode::kResourceExhausted,
                                           "message length " + std::to_string(header.length) +
                                               " exceeds the maximum message size of " +
                                               std::to_string(kMaxMessageSize)),
                                    {}});
    return;
  }
  if (header.type != static_cast<std::uint8_t>(MessageType::kRequest)) {
    // Unknown or stream-data frames: ignored, so newer peers can still talk to us.
    server_.log("ttrpc: ignored frame of type " + std::to_string(header.type) + " on stream " +
                std::to_string(header.stream_id));
    return;
  }
  std::optional<Request> request = decode_request(decoded.frame.data);
  if (!request) {
    send(header.stream_id,
         Response{Status(StatusCode::kInvalidArgument, "cannot decode ttrpc request"), {}});
    return;
  }
  if (header.stream_id % 2 != 1) {
    send(header.stream_id, Response{Status(StatusCode::kInvalidArgument,
                                           "stream id must be odd for client-initiated streams"),
                                    {}});
    return;
  }
  dispatch(header.stream_id, std::move(*request));
}

void ServerConnection::dispatch(std::uint32_t stream_id, Request request) {
  auto received = ServerContext::Clock::now();
  Status error;
  const Handler* handler = server_.find(request.service, request.method, error);
  if (handler == nullptr) {
    send(stream_id, Response{std::move(error), {}});
    return;
  }
  if (!server_.begin_request()) {
    send(stream_id,
         Response{Status(StatusCode::kUnavailable, "ttrpc server is shutting down"), {}});
    return;
  }
  auto context = std::make_shared<ServerContext>();
  context->service_ = std::move(request.service);
  context->method_ = std::move(request.method);
  context->metadata_ = std::move(request.metadata);
  if (request.timeout_nano > 0) {
    context->deadline_ = received + std::chrono::nanoseconds(request.timeout_nano);
  }
  context->connection_closed_ = closed_;
  context->peer_pid_ = peer_pid_;
  context->peer_uid_ = peer_uid_;
  server_.submit([self = shared_from_this(), stream_id, handler, context,
                  payload = std::move(request.payload)] {
    self->run_handler(stream_id, *handler, *context, payload);
    self->server_.end_request();
  });
}

void ServerConnection::run_handler(std::uint32_t stream_id, const Handler& handler,
                                   ServerContext& context, std::string_view payload) {
  Response response;
  if (context.deadline_passed()) {
    // Waited in the queue past its deadline: the caller has given up.
    response.status =
        Status(StatusCode::kDeadlineExceeded, "deadline passed before the handler ran");
  } else {
    try {
      Reply reply = handler(context, payload);
      response.status = std::move(reply.status);
      response.payload = std::move(reply.payload);
    } catch (const StatusError& e) {
      response.status = e.status();
    } catch (const std::exception& e) {
      response.status = Status(StatusCode::kInternal, e.what());
    } catch (...) {
      response.status = Status(StatusCode::kInternal, "handler threw a non-standard exception");
    }
    if (response.status.is_ok() && context.deadline_passed()) {
      response = Response{
          Status(StatusCode::kDeadlineExceeded, "handler finished after the deadline"), {}};
    }
  }
  if (!response.status.is_ok()) {
    response.payload.clear();
  }
  send(stream_id, response);
}

void ServerConnection::send(std::uint32_t stream_id, const Response& response) {
  std::string body = encode_response(response);
  if (body.size() > kMaxMessageSize) {
    body = encode_response(Response{
        Status(StatusCode::kResourceExhausted, "response of " + std::to_string(body.size()) +
                                                   " bytes exceeds the maximum message size"),
        {}});
  }
  std::string frame = encode_frame(stream_id, MessageType::kResponse, 0, body);
  std::lock_guard lock(write_mu_);
  if (!send_all(fd_.get(), frame) && !closed_->is_set()) {
    server_.log(std::string("ttrpc: write failed: ") + std::generic_category().message(errno));
    close();
  }
}

}  // namespace wasmshim::ttrpc
