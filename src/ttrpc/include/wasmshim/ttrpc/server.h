// A ttrpc server on unix sockets: handlers registered by service and method,
// any number of connections, requests on one connection served concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "wasmshim/ttrpc/message.h"
#include "wasmshim/ttrpc/status.h"
#include "wasmshim/ttrpc/unix_socket.h"

namespace wasmshim::ttrpc {

class CancelSignal;  // private: set when a connection ends

// A handler's registration to hear of its call's cancellation; ends with
// this object, after which its callback never runs.
class CancelWatch {
 public:
  CancelWatch() = default;
  CancelWatch(std::shared_ptr<CancelSignal> signal, std::uint64_t id)
      : signal_(std::move(signal)), id_(id) {}
  CancelWatch(CancelWatch&& other) noexcept = default;
  CancelWatch& operator=(CancelWatch&& other) noexcept;
  CancelWatch(const CancelWatch&) = delete;
  CancelWatch& operator=(const CancelWatch&) = delete;
  ~CancelWatch();

 private:
  std::shared_ptr<CancelSignal> signal_;
  std::uint64_t id_ = 0;
};

// What a handler knows about the call it serves.
class ServerContext {
 public:
  using Clock = std::chrono::steady_clock;

  const std::string& service() const { return service_; }
  const std::string& method() const { return method_; }
  const Metadata& metadata() const { return metadata_; }
  // Absolute deadline from the request's timeout, if it had one.
  std::optional<Clock::time_point> deadline() const { return deadline_; }
  bool deadline_passed() const { return deadline_ && Clock::now() >= *deadline_; }
  // True when the caller can no longer receive an answer: the deadline passed,
  // the connection closed, or the server stopped without waiting. Long
  // handlers check it and give up.
  bool cancelled() const;
  // Runs `wake` when the connection closes (the caller went, or the server
  // stopped without waiting): at once, on this thread, if it has already;
  // else once, on the thread that closes it. A handler that blocks on a
  // condition of its own registers it to learn of that without polling;
  // the deadline it keeps itself. `wake` runs under a lock: it must be
  // quick, and must not register or end a watch.
  [[nodiscard]] CancelWatch on_cancel(std::function<void()> wake) const;
  // Credentials of the connected peer (SO_PEERCRED), -1 when unknown.
  int peer_pid() const { return peer_pid_; }
  int peer_uid() const { return peer_uid_; }

 private:
  friend class ServerConnection;
  std::string service_;
  std::string method_;
  Metadata metadata_;
  std::optional<Clock::time_point> deadline_;
  std::shared_ptr<CancelSignal> connection_closed_;  // set when the connection ends
  int peer_pid_ = -1;
  int peer_uid_ = -1;
};

// A handler's answer: a payload (status OK) or an error status.
struct Reply {
  Reply(std::string payload_bytes) : payload(std::move(payload_bytes)) {}  // NOLINT
  Reply(Status error) : status(std::move(error)) {}                        // NOLINT
  Status status;
  std::string payload;
};

// Handlers run on worker threads and may block; a handler may also throw
// StatusError, or any exception (answered as INTERNAL with its message).
using Handler = std::function<Reply(ServerContext& context, std::string_view payload)>;

struct ServerOptions {
  // Upper bound on handler threads; requests beyond it wait in a queue.
  std::size_t max_workers = 512;
  // How long an idle worker thread lingers before it exits.
  std::chrono::milliseconds worker_idle_timeout{10000};
  // Accept only peers running as our own uid or as root (SO_PEERCRED), as a
  // shim must.
  bool require_same_user = false;
  // Diagnostics (malformed frames, dropped connections); never called with a
  // lock held. Default: nothing is logged.
  std::function<void(std::string_view message)> log;
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();  // stops at once (no grace), joining every thread it started
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registration is allowed only before the first serve()/listen().
  // Throws std::logic_error on a duplicate or after serving started.
  void register_method(const std::string& service, const std::string& method, Handler handler);

  // Listens on the address (see listen_unix) and serves in the background.
  void listen(std::string_view address);
  // Serves an already listening socket (takes ownership), e.g. one inherited
  // from the process that created it.
  void serve(UniqueFd listener);

  // Graceful stop: stops accepting, answers new requests with UNAVAILABLE,
  // waits up to `grace` for requests in flight to be answered, then closes
  // every connection. Returns true when nothing was still running. Handlers
  // still running after the grace see cancelled() and are joined by the
  // destructor. Safe to call more than once and from any thread but a handler.
  bool shutdown(std::chrono::milliseconds grace);

  // Requests accepted and not yet answered.
  std::size_t in_flight() const;
  std::size_t connection_count() const;

  class Impl;  // opaque; defined in the library

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wasmshim::ttrpc
