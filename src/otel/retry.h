// Retry decisions shared by the OTLP exporters.
#pragma once

#include <chrono>
#include <optional>
#include <random>

#include "wasmshim/otel/config.h"
#include "wasmshim/otel/exporter.h"

namespace wasmshim::otel::detail {

// The wait before retry number `retry` (1 for the first): a server's hint
// when it gave one, else a random time between half and all of the
// exponential bound (jitter keeps many exporters from retrying in step).
inline std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry,
                                               std::optional<std::chrono::milliseconds> hint) {
  if (hint) {
    return *hint;
  }
  double bound = static_cast<double>(policy.initial_backoff.count());
  for (int i = 1; i < retry; ++i) {
    bound *= policy.multiplier;
  }
  bound = std::min(bound, static_cast<double>(policy.max_backoff.count()));
  thread_local std::minstd_rand random{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<long>(bound * jitter(random)));
}

// Logs the first failure and then at most one line per interval, saying
// how many were not logged.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(DiagnosticLog log,
                          std::chrono::seconds interval = std::chrono::seconds(30))
      : log_(std::move(log)), interval_(interval) {}
  void operator()(const std::string& message) {
    const auto now = std::chrono::steady_clock::now();
    if (logged_ && now - last_ < interval_) {
      ++suppressed_;
      return;
    }
    std::string line = message;
    if (suppressed_ > 0) {
      line += " (" + std::to_string(suppressed_) + " similar message(s) not shown)";
    }
    suppressed_ = 0;
    logged_ = true;
    last_ = now;
    log_(line);
  }

 private:
  DiagnosticLog log_;
  std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point last_{};
  bool logged_ = false;
  std::uint64_t suppressed_ = 0;
};

}  // namespace wasmshim::otel::detail
