// Private: the pieces of Server shared between the accept loop and the
// per-connection readers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "wasmshim/ttrpc/frame.h"
#include "wasmshim/ttrpc/server.h"
#include "worker_pool.h"

namespace wasmshim::ttrpc {

// Set once when a connection ends; runs the callbacks handlers registered
// (ServerContext::on_cancel) then, and at once for later ones.
class CancelSignal {
 public:
  bool is_set() const { return set_.load(); }
  void set();
  std::uint64_t add(std::function<void()> wake);
  void remove(std::uint64_t id);

 private:
  std::atomic<bool> set_{false};
  std::mutex mu_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::function<void()>> wakes_;
};

// One accepted connection: a reader thread that decodes frames and hands
// requests to the worker pool, and a write lock that keeps frames whole.
class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(Server::Impl& server, UniqueFd fd, int peer_pid, int peer_uid);
  ~ServerConnection();

  void start();
  // Wakes the reader (it sees end of stream) and cancels running handlers.
  void close();
  void join();

 private:
  void read_loop();
  void handle(const DecodedFrame& decoded);
  void dispatch(std::uint32_t stream_id, Request request);
  void run_handler(std::uint32_t stream_id, const Handler& handler, ServerContext& context,
                   std::string_view payload);
  void send(std::uint32_t stream_id, const Response& response);

  Server::Impl& server_;
  UniqueFd fd_;
  int peer_pid_;
  int peer_uid_;
  std::thread reader_;
  std::mutex join_mu_;
  std::mutex write_mu_;
  std::shared_ptr<CancelSignal> closed_ = std::make_shared<CancelSignal>();
};

class Server::Impl {
 public:
  explicit Impl(ServerOptions options);
  ~Impl();

  void register_method(const std::string& service, const std::string& method, Handler handler);
  void serve(UniqueFd listener, std::string unlink_path);
  bool shutdown(std::chrono::milliseconds grace);

  // Used by connections.
  const Handler* find(const std::string& service, const std::string& method, Status& error) const;
  bool shutting_down() const { return shutting_down_.load(); }
  // Counts a request as in flight; false when the server is stopping.
  bool begin_request();
  void end_request();
  void submit(std::function<void()> task) { pool_.submit(std::move(task)); }
  void connection_ended(ServerConnection* connection);
  void log(const std::string& message) const;

  std::size_t in_flight() const;
  std::size_t connection_count() const;

 private:
  void accept_loop();
  void accept_one();
  void reap_finished();
  void wake_accept_loop();

  ServerOptions options_;
  // service -> method -> handler; written only before serving starts.
  std::unordered_map<std::string, std::unordered_map<std::string, Handler>> services_;
  std::atomic<bool> serving_{false};
  std::atomic<bool> shutting_down_{false};
  UniqueFd listener_;
  UniqueFd wake_;  // eventfd that interrupts the accept loop's poll
  std::string unlink_path_;
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::condition_variable idle_;
  std::size_t in_flight_ = 0;
  std::map<ServerConnection*, std::shared_ptr<ServerConnection>> connections_;
  std::vector<std::shared_ptr<ServerConnection>> finished_;  // readers to join
  std::mutex shutdown_mu_;                                   // one shutdown at a time
  // Declared last: destroyed (and joined) first, while the rest still exists.
  WorkerPool pool_;
};

}  // namespace wasmshim::ttrpc
