// OTLP/HTTP without libcurl, for http:// to an address literal or
// localhost: one HTTP/1.1 POST per connection (Connection: close), every
// wait a poll on the socket and a wake eventfd, so a deadline or wake()
// ends it at once. Anything else (names to resolve, TLS, proxies) goes to
// libcurl (see http_transport.h for why this exists).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "http_transport.h"
#include "wasmshim/base/strings.h"
#include "wasmshim/base/unique_fd.h"

namespace wasmshim::otel::detail {
namespace {

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

struct PlainEndpoint {
  std::vector<Address> addresses;  // tried in order
  std::string host;                // the Host header: the URL's authority
  std::string path;
};

std::optional<Address> literal_address(const std::string& host, std::uint16_t port) {
  Address address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address.length = sizeof(sockaddr_in);
    return address;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address.length = sizeof(sockaddr_in6);
    return address;
  }
  return std::nullopt;
}

std::optional<PlainEndpoint> plain_endpoint(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() <= kScheme.size() ||
      strncasecmp(url.c_str(), kScheme.data(), kScheme.size()) != 0) {
    return std::nullopt;
  }
  const std::string rest = url.substr(kScheme.size());
  const auto path_at = rest.find_first_of("/?#");
  PlainEndpoint endpoint;
  endpoint.host = rest.substr(0, path_at);
  std::string path = path_at == std::string::npos ? "/" : rest.substr(path_at);
  path = path.substr(0, path.find('#'));
  endpoint.path = path.empty() || path[0] != '/' ? "/" + path : path;
  if (endpoint.host.empty() || endpoint.host.find('@') != std::string::npos) {
    return std::nullopt;  // user info: libcurl's job
  }
  std::string host = endpoint.host;
  std::string port_text;
  if (host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string::npos) {
      return std::nullopt;
    }
    port_text = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port_text.empty() && port_text.front() != ':') {
      return std::nullopt;
    }
    port_text = port_text.empty() ? "" : port_text.substr(1);
  } else if (const auto colon = host.find(':'); colon != std::string::npos) {
    port_text = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  long port = 80;
  if (!port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    port = std::stol(port_text);
  }
  if (port < 1 || port > 65535) {
    return std::nullopt;
  }
  const auto port16 = static_cast<std::uint16_t>(port);
  if (strcasecmp(host.c_str(), "localhost") == 0) {
    // What /etc/hosts says on any Linux: both loopbacks, v4 first.
    endpoint.addresses.push_back(*literal_address("127.0.0.1", port16));
    endpoint.addresses.push_back(*literal_address("::1", port16));
  } else if (auto address = literal_address(host, port16)) {
    endpoint.addresses.push_back(*address);
  } else {
    return std::nullopt;  // a name to resolve: libcurl resolves with a timeout
  }
  return endpoint;
}

using base::UniqueFd;

enum class Wait { ready, timed_out, woken, failed };

class PlainTransport final : public HttpTransport {
 public:
  PlainTransport(PlainEndpoint endpoint, std::vector<std::string> headers)
      : endpoint_(std::move(endpoint)),
        headers_(std::move(headers)),
        wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

  HttpReply post(const std::string& body, Clock::time_point deadline) override {
    HttpReply reply;
    UniqueFd socket;
    const int connect_error = connect_any(socket, deadline, reply);
    if (socket.get() < 0) {
      if (reply.reason.empty()) {
        reply.reason =
            "Couldn't connect to server: " + std::generic_category().message(connect_error);
        reply.retryable = true;
      }
      return reply;
    }
    std::string request =
        "POST " + endpoint_.path + " HTTP/1.1\r\nHost: " + endpoint_.host + "\r\n";
    for (const auto& header : headers_) {
      request += header + "\r\n";
    }
    request += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!send_all(socket.get(), request, body, deadline, reply)) {
      return reply;
    }
    receive(socket.get(), deadline, reply);
    return reply;
  }

  void sleep_until(Clock::time_point until) override { (void)wait_for(-1, 0, until); }

  void wake() override {
    woken_.store(true);
    const std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof(one));
  }

  void after_fork_in_child() override {
    // The parent's eventfd is shared with the parent: a wake there must
    // not end this process's exports.
    wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  }

 private:
  // Polls `fd` for `events` and the wake eventfd until `deadline`.
  Wait wait_for(int fd, short events, Clock::time_point deadline) {
    while (!woken_.load()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        return Wait::timed_out;
      }
      pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {fd, events, 0}};
      const int n = ::poll(fds, fd >= 0 ? 2 : 1, static_cast<int>(std::min<long>(left, 1000)));
      if (n < 0 && errno != EINTR) {
        return Wait::failed;
      }
      if (n > 0 && fd >= 0 && fds[1].revents != 0) {
        return Wait::ready;
      }
    }
    return Wait::woken;
  }

  // Fills `reply` and returns 0 when woken or out of time; else the last
  // connect error, with `socket` set on success.
  int connect_any(UniqueFd& socket, Clock::time_point deadline, HttpReply& reply) {
    int last_error = ECONNREFUSED;
    for (const Address& address : endpoint_.addresses) {
      UniqueFd candidate(
          ::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (candidate.get() < 0) {
        last_error = errno;
        continue;
      }
      if (::connect(candidate.get(), reinterpret_cast<const sockaddr*>(&address.storage),
                    address.length) != 0) {
        if (errno != EINPROGRESS) {
          last_error = errno;
          continue;
        }
        const Wait waited = wait_for(candidate.get(), POLLOUT, deadline);
        if (waited != Wait::ready) {
          stopped(waited, reply);
          return 0;
        }
        int error = 0;
        socklen_t size = sizeof(error);
        ::getsockopt(candidate.get(), SOL_SOCKET, SO_ERROR, &error, &size);
        if (error != 0) {
          last_error = error;
          continue;
        }
      }
      socket.reset(candidate.release());
      return 0;
    }
    return last_error;
  }

  static void stopped(Wait waited, HttpReply& reply) {
    if (waited == Wait::woken) {
      reply.reason = "aborted";
    } else if (waited == Wait::timed_out) {
      reply.reason = "Operation timed out";
    } else {
      reply.reason = std::string("poll failed: ") + std::generic_category().message(errno);
    }
  }

  // The head, then the body, gathered by the kernel: the body (up to a
  // whole batch) is never copied behind the head.
  bool send_all(int socket, std::string_view head, std::string_view body,
                Clock::time_point deadline, HttpReply& reply) {
    std::size_t sent = 0;
    const std::size_t total = head.size() + body.size();
    while (sent < total) {
      iovec parts[2];
      int count = 0;
      if (sent < head.size()) {
        parts[count++] = {const_cast<char*>(head.data() + sent), head.size() - sent};
      }
      const std::size_t body_sent = sent > head.size() ? sent - head.size() : 0;
      if (body_sent < body.size()) {
        parts[count++] = {const_cast<char*>(body.data() + body_sent), body.size() - body_sent};
      }
      msghdr message{};
      message.msg_iov = parts;
      message.msg_iovlen = static_cast<std::size_t>(count);
      const ssize_t n = ::sendmsg(socket, &message, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        reply.reason = std::string("Failed sending data to the peer: ") +
                       std::generic_category().message(errno);
        reply.retryable = true;
        return false;
      }
      const Wait waited = wait_for(socket, POLLOUT, deadline);
      if (waited != Wait::ready) {
        stopped(waited, reply);
        return false;
      }
    }
    return true;
  }

  void receive(int socket, Clock::time_point deadline, HttpReply& reply) {
    std::string head;  // status line and headers, then the body's start
    std::string body;
    bool have_head = false;
    std::optional<std::size_t> content_length;
    bool chunked = false;
    char buffer[4096];  // a collector's answer is a few hundred bytes
    for (;;) {
      const ssize_t n = ::recv(socket, buffer, sizeof(buffer), 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        const Wait waited = wait_for(socket, POLLIN, deadline);
        if (waited != Wait::ready) {
          stopped(waited, reply);
          return;
        }
        continue;
      }
      if (n < 0) {
        reply.reason = std::string("Failure when receiving data from the peer: ") +
                       std::generic_category().message(errno);
        reply.retryable = true;
        return;
      }
      if (n == 0) {
        break;
      }
      if (!have_head) {
        head.append(buffer, static_cast<std::size_t>(n));
        const auto end = head.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (head.size() > kMaxResponseBytes) {
            reply.reason = "the collector's response headers are too long";
            return;
          }
          continue;
        }
        body = head.substr(end + 4);
        head.resize(end);
        have_head = true;
        if (!parse_head(head, reply, content_length, chunked)) {
          return;
        }
      } else if (body.size() < kMaxResponseBytes * 2) {
        body.append(buffer, static_cast<std::size_t>(n));
      }
      if (content_length && body.size() >= *content_length) {
        break;
      }
    }
    if (!have_head) {
      reply.reason =
          head.empty() ? "Empty reply from server" : "Failure when receiving data from the peer";
      reply.retryable = true;
      return;
    }
    if (content_length && body.size() < *content_length) {
      reply.reason = "Transferred a partial file";
      reply.retryable = true;
      return;
    }
    if (content_length) {
      body.resize(*content_length);
    }
    reply.body = chunked ? dechunk(body) : std::move(body);
    if (reply.body.size() > kMaxResponseBytes) {
      reply.body.resize(kMaxResponseBytes);
    }
    reply.delivered = true;
  }

  static bool parse_head(const std::string& head, HttpReply& reply,
                         std::optional<std::size_t>& content_length, bool& chunked) {
    int status = 0;
    if (std::sscanf(head.c_str(), "HTTP/%*d.%*d %3d", &status) != 1 || status < 100) {
      reply.reason = "the collector's answer is not HTTP";
      return false;
    }
    reply.status = status;
    std::size_t at = head.find("\r\n");
    while (at != std::string::npos) {
      const std::size_t start = at + 2;
      at = head.find("\r\n", start);
      const std::string line =
          head.substr(start, at == std::string::npos ? std::string::npos : at - start);
      const auto colon = line.find(':');
      if (colon == std::string::npos) {
        continue;
      }
      const std::string name = line.substr(0, colon);
      const std::string value(base::trim(std::string_view(line).substr(colon + 1), " \t"));
      if (strcasecmp(name.c_str(), "content-length") == 0 &&
          value.find_first_not_of("0123456789") == std::string::npos && !value.empty() &&
          value.size() < 12) {
        content_length = std::stoul(value);
      } else if (strcasecmp(name.c_str(), "transfer-encoding") == 0 &&
                 strcasecmp(value.c_str(), "chunked") == 0) {
        chunked = true;
      } else if (strcasecmp(name.c_str(), "retry-after") == 0) {
        reply.retry_after = value;
      }
    }
    if (chunked) {
      content_length.reset();
    }
    return true;
  }

  // The body of a chunked transfer (what arrived of it).
  static std::string dechunk(const std::string& raw) {
    std::string out;
    std::size_t at = 0;
    while (at < raw.size()) {
      const auto line_end = raw.find("\r\n", at);
      if (line_end == std::string::npos) {
        break;
      }
      const std::size_t size = std::strtoul(raw.c_str() + at, nullptr, 16);
      at = line_end + 2;
      if (size == 0) {
        break;
      }
      out.append(raw, at, std::min(size, raw.size() - at));
      at += size + 2;
    }
    return out;
  }

  PlainEndpoint endpoint_;
  std::vector<std::string> headers_;
  UniqueFd wake_;
  std::atomic<bool> woken_{false};
};

}  // namespace

std::unique_ptr<HttpTransport> make_plain_transport(const OtlpConfig& config,
                                                    std::vector<std::string> headers) {
  if (!config.certificate_file.empty() || !config.client_certificate_file.empty() ||
      !config.client_key_file.empty()) {
    return nullptr;
  }
  auto endpoint = plain_endpoint(config.endpoint);
  if (!endpoint) {
    return nullptr;
  }
  return std::make_unique<PlainTransport>(std::move(*endpoint), std::move(headers));
}

std::unique_ptr<HttpTransport> make_http_transport(const OtlpConfig& config,
                                                   std::vector<std::string> headers,
                                                   std::string& error) {
  if (auto plain = make_plain_transport(config, headers)) {
    return plain;
  }
  return make_curl_transport(config, std::move(headers), error);
}

}  // namespace wasmshim::otel::detail
