// Test support: the lines a component logs (a diagnostic log, the shim's
// publisher log), kept so a test can wait for one and read them all.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace wasmshim::testing {

class LogLines {
 public:
  // Takes a line as std::string_view or const std::string&, from any thread.
  auto sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
      changed_.notify_all();
    };
  }

  // How many lines hold `needle`.
  std::size_t count(std::string_view needle) {
    std::lock_guard lock(mutex_);
    return count_locked(needle);
  }
  bool contains(std::string_view needle) { return count(needle) > 0; }

  // Waits until `times` lines hold `needle`; false if they do not within
  // `limit` (a generous bound for a busy machine).
  bool wait_for(std::string_view needle, std::size_t times = 1,
                std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return count_locked(needle) >= times; });
  }

  // Every line, each ended by a newline.
  std::string all() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& line : lines_) {
      out += line + "\n";
    }
    return out;
  }

 private:
  std::size_t count_locked(std::string_view needle) const {
    return static_cast<std::size_t>(std::count_if(
        lines_.begin(), lines_.end(),
        [&](const std::string& line) { return line.find(needle) != std::string::npos; }));
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

}  // namespace wasmshim::testing
