// Test support: OTLP/HTTP collectors on loopback that fail as real ones
// do (refuse, accept and stay silent, answer 503, answer late), or answer
// at once, each served by one thread that stops with the object. Each
// records the command line of every process that connected, so a test can
// tell who waited on it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/processes.h"

namespace wasmshim::testing {

enum class Fault { refused, silent, unavailable, slow, none };

inline const char* fault_name(Fault fault) {
  switch (fault) {
    case Fault::refused:
      return "refused";
    case Fault::silent:
      return "silent";
    case Fault::unavailable:
      return "503";
    case Fault::slow:
      return "slow";
    default:
      return "healthy";
  }
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The socket inode of the loopback client at `client_port` talking to
// `server_port`, from /proc/net/tcp.
inline std::string client_socket_inode(int client_port, int server_port) {
  std::istringstream table(read_text("/proc/net/tcp"));
  std::string line;
  std::getline(table, line);  // the heading
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    const auto port_of = [](const std::string& address) {
      return std::stoi(address.substr(address.find(':') + 1), nullptr, 16);
    };
    if (local.find(':') != std::string::npos && remote.find(':') != std::string::npos &&
        port_of(local) == client_port && port_of(remote) == server_port) {
      return inode;
    }
  }
  return {};
}

// The command line of the process holding the other end of `connection`.
inline std::string peer_command_line(int connection) {
  sockaddr_in peer{};
  sockaddr_in self{};
  socklen_t length = sizeof(peer);
  ::getpeername(connection, reinterpret_cast<sockaddr*>(&peer), &length);
  length = sizeof(self);
  ::getsockname(connection, reinterpret_cast<sockaddr*>(&self), &length);
  const std::string inode = client_socket_inode(ntohs(peer.sin_port), ntohs(self.sin_port));
  if (inode.empty()) {
    return "(unknown)";
  }
  const std::string target = "socket:[" + inode + "]";
  for (const auto& pid : process_ids()) {
    std::error_code error;
    for (const auto& fd :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
      if (std::filesystem::read_symlink(fd.path(), error).string() == target) {
        return command_line_of(pid);
      }
    }
  }
  return "(gone)";
}

// A collector on loopback with one fault (or none), served by one thread
// that stops with the object. Refused: the port was bound and closed,
// nothing listens.
class FaultyCollector {
 public:
  // `record_clients`: look up who connected (a scan of /proc per
  // connection, which a benchmark leaves out).
  explicit FaultyCollector(Fault fault, bool record_clients = true)
      : fault_(fault), record_clients_(record_clients) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(listener_, 128) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    socklen_t length = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    if (fault == Fault::refused) {
      ::close(listener_);
      listener_ = -1;
      return;
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~FaultyCollector() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
    for (const auto& held : held_) {
      ::close(held.fd);
    }
    if (listener_ >= 0) {
      ::close(listener_);
    }
  }
  FaultyCollector(const FaultyCollector&) = delete;
  FaultyCollector& operator=(const FaultyCollector&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The command line of each process that connected.
  std::vector<std::string> clients() const {
    std::lock_guard lock(mutex_);
    return clients_;
  }

  // How late the slow collector answers: past any timeout a test sets.
  static constexpr std::chrono::seconds kSlowAnswer{4};

 private:
  struct Held {
    int fd;
    std::chrono::steady_clock::time_point answer_at;
  };

  void serve() {
    while (!stop_) {
      pollfd wait{listener_, POLLIN, 0};
      ::poll(&wait, 1, 50);
      for (int connection = accept_one(); connection >= 0; connection = accept_one()) {
        take(connection);
      }
      answer_due();
    }
  }

  int accept_one() const { return ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC); }

  void take(int connection) {
    if (record_clients_) {
      const std::string client = peer_command_line(connection);
      std::lock_guard lock(mutex_);
      clients_.push_back(client);
    }
    switch (fault_) {
      case Fault::unavailable:
        read_request(connection);
        answer(connection, "503 Service Unavailable");
        break;
      case Fault::slow:
        held_.push_back({connection, std::chrono::steady_clock::now() + kSlowAnswer});
        break;
      case Fault::none:
        read_request(connection);
        answer(connection, "200 OK");
        break;
      default:  // silent: held open, never read, never answered
        held_.push_back({connection, std::chrono::steady_clock::time_point::max()});
        break;
    }
  }

  void answer_due() {
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(held_, [&](const Held& held) {
      if (held.answer_at > now) {
        return false;
      }
      read_request(held.fd);
      answer(held.fd, "200 OK");
      return true;
    });
  }

  // Whatever of the request has arrived (the head, usually the body too).
  static void read_request(int connection) {
    char buffer[65536];
    pollfd wait{connection, POLLIN, 0};
    if (::poll(&wait, 1, 1000) > 0) {
      (void)::recv(connection, buffer, sizeof(buffer), MSG_DONTWAIT);
    }
  }

  static void answer(int connection, const std::string& status) {
    const std::string reply = "HTTP/1.1 " + status +
                              "\r\nContent-Type: application/x-protobuf\r\nContent-Length: "
                              "0\r\nConnection: close\r\n\r\n";
    (void)::send(connection, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::close(connection);
  }

  Fault fault_;
  bool record_clients_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<Held> held_;  // the serving thread's alone
  mutable std::mutex mutex_;
  std::vector<std::string> clients_;
  std::thread thread_;
};

}  // namespace wasmshim::testing
