#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "server_impl.h"

namespace wasmshim::ttrpc {

bool ServerContext::cancelled() const {
  return deadline_passed() || (connection_closed_ && connection_closed_->is_set());
}

CancelWatch ServerContext::on_cancel(std::function<void()> wake) const {
  if (!connection_closed_) {
    return {};  // a context made outside a server is never cancelled
  }
  const std::uint64_t id = connection_closed_->add(std::move(wake));
  return id == 0 ? CancelWatch() : CancelWatch(connection_closed_, id);
}

CancelWatch& CancelWatch::operator=(CancelWatch&& other) noexcept {
  if (this != &other) {
    if (signal_) {
      signal_->remove(id_);
    }
    signal_ = std::move(other.signal_);
    id_ = other.id_;
  }
  return *this;
}

CancelWatch::~CancelWatch() {
  if (signal_) {
    signal_->remove(id_);
  }
}

void CancelSignal::set() {
  std::lock_guard lock(mu_);
  if (set_.exchange(true)) {
    return;
  }
  for (auto& [id, wake] : wakes_) {
    wake();
  }
  wakes_.clear();
}

// 0 when already set: `wake` ran here and nothing is kept.
std::uint64_t CancelSignal::add(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  if (set_.load()) {
    wake();
    return 0;
  }
  const std::uint64_t id = next_id_++;
  wakes_.emplace(id, std::move(wake));
  return id;
}

void CancelSignal::remove(std::uint64_t id) {
  std::lock_guard lock(mu_);
  wakes_.erase(id);
}

Server::Impl::Impl(ServerOptions options)
    : options_(std::move(options)), pool_(options_.max_workers, options_.worker_idle_timeout) {
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid()) {
    throw std::system_error(errno, std::generic_category(), "eventfd");
  }
}

Server::Impl::~Impl() {
  shutdown(std::chrono::milliseconds(0));
}

void Server::Impl::register_method(const std::string& service, const std::string& method,
                                   Handler handler) {
  if (serving_) {
    throw std::logic_error("ttrpc: register " + service + "/" + method + " after serving started");
  }
  auto& methods = services_[service];
  if (!methods.emplace(method, std::move(handler)).second) {
    throw std::logic_error("ttrpc: " + service + "/" + method + " registered twice");
  }
}

void Server::Impl::serve(UniqueFd listener, std::string unlink_path) {
  if (serving_.exchange(true)) {
    throw std::logic_error("ttrpc: server is already serving");
  }
  if (shutting_down_) {
    throw std::logic_error("ttrpc: server was shut down");
  }
  listener_ = std::move(listener);
  unlink_path_ = std::move(unlink_path);
  accept_thread_ = std::thread([this] { accept_loop(); });
}

void Server::Impl::accept_loop() {
  while (!shutting_down_) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    // No timeout: a connection, one that ended (to join) and shutdown all
    // make one of these readable.
    int ready = ::poll(fds, 2, -1);
    if (ready > 0 && (fds[1].revents & POLLIN) != 0) {
      std::uint64_t count = 0;
      (void)!::read(wake_.get(), &count, sizeof count);
    }
    reap_finished();
    if (ready < 0 && errno != EINTR) {
      log(std::string("ttrpc: poll on listener failed: ") + std::generic_category().message(errno));
      return;
    }
    if (ready > 0 && (fds[0].revents & POLLIN) != 0 && !shutting_down_) {
      accept_one();
    }
  }
}

void Server::Impl::accept_one() {
  UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd.valid()) {
    if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
      log(std::string("ttrpc: accept failed: ") + std::generic_category().message(errno));
      // EMFILE and friends: back off instead of spinning on a ready listener.
      ::poll(nullptr, 0, 100);
    }
    return;
  }
  ucred cred{};
  socklen_t len = sizeof cred;
  int pid = -1;
  int uid = -1;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    pid = cred.pid;
    uid = static_cast<int>(cred.uid);
  }
  if (options_.require_same_user && uid != 0 && uid != static_cast<int>(::geteuid())) {
    log("ttrpc: refused connection from uid " + std::to_string(uid) + " (pid " +
        std::to_string(pid) + "): not our user");
    return;
  }
  auto connection = std::make_shared<ServerConnection>(*this, std::move(fd), pid, uid);
  {
    std::lock_guard lock(mu_);
    connections_.emplace(connection.get(), connection);
  }
  connection->start();
}

void Server::Impl::connection_ended(ServerConnection* connection) {
  std::lock_guard lock(mu_);
  auto it = connections_.find(connection);
  if (it != connections_.end()) {
    finished_.push_back(std::move(it->second));
    connections_.erase(it);
  }
  wake_accept_loop();
}

void Server::Impl::wake_accept_loop() {
  const std::uint64_t one = 1;
  // Fails only when the counter would overflow: it is readable then anyway.
  (void)!::write(wake_.get(), &one, sizeof one);
}

void Server::Impl::reap_finished() {
  std::vector<std::shared_ptr<ServerConnection>> finished;
  {
    std::lock_guard lock(mu_);
    finished.swap(finished_);
  }
  for (auto& connection : finished) {
    connection->join();
  }
}

const Handler* Server::Impl::find(const std::string& service, const std::string& method,
                                  Status& error) const {
  auto service_it = services_.find(service);
  if (service_it == services_.end()) {
    error = Status(StatusCode::kUnimplemented, "service " + service + " is not implemented");
    return nullptr;
  }
  auto method_it = service_it->second.find(method);
  if (method_it == service_it->second.end()) {
    error = Status(StatusCode::kUnimplemented,
                   "method " + method + " of service " + service + " is not implemented");
    return nullptr;
  }
  return &method_it->second;
}

bool Server::Impl::begin_request() {
  std::lock_guard lock(mu_);
  if (shutting_down_) {
    return false;
  }
  ++in_flight_;
  return true;
}

void Server::Impl::end_request() {
  std::lock_guard lock(mu_);
  if (--in_flight_ == 0) {
    idle_.notify_all();
  }
}

std::size_t Server::Impl::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

std::size_t Server::Impl::connection_count() const {
  std::lock_guard lock(mu_);
  return connections_.size();
}

void Server::Impl::log(const std::string& message) const {
  if (options_.log) {
    options_.log(message);
  }
}

bool Server::Impl::shutdown(std::chrono::milliseconds grace) {
  std::lock_guard serialize(shutdown_mu_);
  {
    // Set under mu_ so begin_request() never admits a request after this.
    std::lock_guard lock(mu_);
    shutting_down_ = true;
  }
  wake_accept_loop();
  if (accept_thread_.joinable()) {
    accept_thread_.join();
  }
  listener_.reset();
  if (!unlink_path_.empty()) {
    ::unlink(unlink_path_.c_str());
    unlink_path_.clear();
  }

  bool drained = false;
  std::vector<std::shared_ptr<ServerConnection>> to_close;
  {
    std::unique_lock lock(mu_);
    drained = idle_.wait_for(lock, grace, [this] { return in_flight_ == 0; });
    for (auto& [raw, connection] : connections_) {
      to_close.push_back(connection);
    }
  }
  for (auto& connection : to_close) {
    connection->close();
  }
  for (auto& connection : to_close) {
    connection->join();
  }
  reap_finished();
  return drained;
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() = default;

void Server::register_method(const std::string& service, const std::string& method,
                             Handler handler) {
  impl_->register_method(service, method, std::move(handler));
}

void Server::listen(std::string_view address) {
  SocketAddress parsed = parse_socket_address(address);
  UniqueFd listener = listen_unix(address);
  impl_->serve(std::move(listener), parsed.abstract ? std::string() : parsed.path);
}

void Server::serve(UniqueFd listener) {
  impl_->serve(std::move(listener), std::string());
}

bool Server::shutdown(std::chrono::milliseconds grace) {
  return impl_->shutdown(grace);
}

std::size_t Server::in_flight() const {
  return impl_->in_flight();
}

std::size_t Server::connection_count() const {
  return impl_->connection_count();
}

}  // namespace wasmshim::ttrpc
