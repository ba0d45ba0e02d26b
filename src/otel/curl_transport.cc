// OTLP/HTTP over libcurl (TLS, proxies, name resolution with a timeout).
// Each post runs a transfer on a multi handle that lives as long as the
// transport, so wake() from another thread ends a transfer or a backoff
// sleep at once (curl_multi_wakeup) without a lock shared with the export
// thread.
#include <strings.h>

#include <algorithm>
#include <atomic>
#include <string_view>

#include "curl_library.h"
#include "http_transport.h"

namespace wasmshim::otel::detail {
namespace {

struct Transfer {
  std::string response;
  std::string retry_after;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (transfer->response.size() < kMaxResponseBytes) {
    transfer->response.append(data, std::min(n, kMaxResponseBytes - transfer->response.size()));
  }
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    auto value = line.substr(kName.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    transfer->retry_after = std::string(value);
  }
  return n;
}

class CurlTransport final : public HttpTransport {
 public:
  CurlTransport(const CurlLibrary& curl, OtlpConfig config, std::vector<std::string> headers)
      : curl_(curl),
        config_(std::move(config)),
        headers_(std::move(headers)),
        multi_(curl_.multi_init()) {}

  ~CurlTransport() override {
    if (multi_ != nullptr) {
      curl_.multi_cleanup(multi_);
    }
  }
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  HttpReply post(const std::string& body, Clock::time_point deadline) override {
    HttpReply reply;
    EasyHandle easy(curl_);
    if (multi_ == nullptr || easy.handle == nullptr) {
      reply.reason = "curl_easy_init failed";
      return reply;
    }
    Transfer transfer;
    configure(easy, body, transfer, deadline);
    curl_.multi_add_handle(multi_, easy.handle);
    CURLcode result = CURLE_OK;
    bool done = false;
    while (!done && !woken_.load()) {
      int running = 0;
      if (curl_.multi_perform(multi_, &running) != CURLM_OK) {
        result = CURLE_FAILED_INIT;
        break;
      }
      int queued = 0;
      while (CURLMsg* message = curl_.multi_info_read(multi_, &queued)) {
        if (message->msg == CURLMSG_DONE) {
          result = message->data.result;
          done = true;
        }
      }
      if (!done) {
        curl_.multi_poll(multi_, nullptr, 0, 100, nullptr);
      }
    }
    long status = 0;
    curl_.easy_getinfo(easy.handle, CURLINFO_RESPONSE_CODE, &status);
    curl_.multi_remove_handle(multi_, easy.handle);
    if (!done) {
      reply.reason = "aborted";
      return reply;
    }
    if (result != CURLE_OK) {
      reply.reason = curl_.easy_strerror(result);
      // A collector that is restarting refuses connections for a moment:
      // worth a retry, unlike a bad certificate.
      reply.retryable = result == CURLE_COULDNT_CONNECT || result == CURLE_RECV_ERROR ||
                        result == CURLE_SEND_ERROR || result == CURLE_GOT_NOTHING ||
                        result == CURLE_PARTIAL_FILE;
      return reply;
    }
    reply.delivered = true;
    reply.status = status;
    reply.body = std::move(transfer.response);
    reply.retry_after = std::move(transfer.retry_after);
    return reply;
  }

  void sleep_until(Clock::time_point until) override {
    while (!woken_.load()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0 || multi_ == nullptr) {
        return;
      }
      curl_.multi_poll(multi_, nullptr, 0, static_cast<int>(std::min<long>(left.count(), 1000)),
                       nullptr);
    }
  }

  void wake() override {
    woken_.store(true);
    if (multi_ != nullptr) {
      curl_.multi_wakeup(multi_);
    }
  }

  void after_fork_in_child() override {
    // The parent's handle may be mid-transfer on the parent's connection:
    // leave it alone and start over.
    multi_ = curl_.multi_init();
  }

 private:
  struct EasyHandle {
    explicit EasyHandle(const CurlLibrary& library) : curl(library), handle(curl.easy_init()) {}
    ~EasyHandle() {
      curl.slist_free_all(headers);
      curl.easy_cleanup(handle);
    }
    EasyHandle(const EasyHandle&) = delete;
    EasyHandle& operator=(const EasyHandle&) = delete;

    const CurlLibrary& curl;
    CURL* handle;
    curl_slist* headers = nullptr;
  };

  void configure(EasyHandle& easy, const std::string& body, Transfer& transfer,
                 Clock::time_point deadline) const {
    CURL* h = easy.handle;
    for (const auto& header : headers_) {
      easy.headers = curl_.slist_append(easy.headers, header.c_str());
    }
    curl_.easy_setopt(h, CURLOPT_URL, config_.endpoint.c_str());
    curl_.easy_setopt(h, CURLOPT_POST, 1L);
    curl_.easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_.easy_setopt(h, CURLOPT_HTTPHEADER, easy.headers);
    curl_.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_.easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_.easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
    curl_.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    curl_.easy_setopt(h, CURLOPT_TIMEOUT_MS, std::max<long>(1, static_cast<long>(left.count())));
    if (!config_.certificate_file.empty()) {
      curl_.easy_setopt(h, CURLOPT_CAINFO, config_.certificate_file.c_str());
    }
    if (!config_.client_certificate_file.empty()) {
      curl_.easy_setopt(h, CURLOPT_SSLCERT, config_.client_certificate_file.c_str());
    }
    if (!config_.client_key_file.empty()) {
      curl_.easy_setopt(h, CURLOPT_SSLKEY, config_.client_key_file.c_str());
    }
  }

  const CurlLibrary& curl_;
  OtlpConfig config_;
  std::vector<std::string> headers_;
  CURLM* multi_;
  std::atomic<bool> woken_{false};
};

}  // namespace

std::unique_ptr<HttpTransport> make_curl_transport(const OtlpConfig& config,
                                                   std::vector<std::string> headers,
                                                   std::string& error) {
  const CurlLibrary* curl = CurlLibrary::get(error);
  if (curl == nullptr) {
    return nullptr;
  }
  return std::make_unique<CurlTransport>(*curl, config, std::move(headers));
}

}  // namespace wasmshim::otel::detail
