// How the OTLP/HTTP exporter posts a request: libcurl, or, for plain http
// to an address literal or localhost, a small HTTP/1.1 client of our own.
// Every shim daemon exports, and opening libcurl (with the ~25 libraries it
// needs) and initialising OpenSSL cost it 5.5 ms of CPU per container; a
// plain POST to a local collector needs neither.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "wasmshim/otel/config.h"
#include "wasmshim/otel/exporter.h"

namespace wasmshim::otel::detail {

struct HttpReply {
  bool delivered = false;  // a response came, whatever its status
  bool retryable = false;  // not delivered, and worth another attempt
  std::string reason;      // why not delivered
  long status = 0;
  std::string body;  // at most kMaxResponseBytes
  std::string retry_after;
};

inline constexpr std::size_t kMaxResponseBytes = std::size_t{64} * 1024;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // POSTs `body` with `headers` ("Name: value" lines) to the endpoint.
  virtual HttpReply post(const std::string& body, Clock::time_point deadline) = 0;
  // Returns at `until`, or sooner once wake() is called.
  virtual void sleep_until(Clock::time_point until) = 0;
  // From any thread: a post or sleep under way ends now, as does every
  // later one.
  virtual void wake() = 0;
  // In a forked child: drop what belongs to the parent's transfers.
  virtual void after_fork_in_child() = 0;
};

// The endpoint's transport: the plain one when it can do the job, else
// libcurl; nullptr with `error` set when libcurl is needed and missing.
std::unique_ptr<HttpTransport> make_http_transport(const OtlpConfig& config,
                                                   std::vector<std::string> headers,
                                                   std::string& error);

// Transports, for make_http_transport and the tests.
std::unique_ptr<HttpTransport> make_curl_transport(const OtlpConfig& config,
                                                   std::vector<std::string> headers,
                                                   std::string& error);
// nullptr when the endpoint is not http:// to an address literal or
// localhost, or carries TLS settings.
std::unique_ptr<HttpTransport> make_plain_transport(const OtlpConfig& config,
                                                    std::vector<std::string> headers);

}  // namespace wasmshim::otel::detail
