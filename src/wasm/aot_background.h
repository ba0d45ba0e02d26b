// Private: the aot build `auto` starts in the background, and what it
// remembers of earlier attempts so that a failure is retried with a growing
// delay, a compiler that refuses the code is not asked forever, and the log
// says once why a module stays on jit.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "cache.h"

namespace wasmshim::wasm {

enum class BuildOutcome {
  none,       // never tried
  running,    // started; when no build holds the lock, it died before saying more
  refused,    // the compiler exited non-zero with messages: the code is the problem
  transient,  // killed, out of space, or exited without a word: worth retrying
};

// `<object>.state` beside the cache entry.
struct BuildState {
  int attempts = 0;
  std::int64_t last_attempt = 0;  // unix seconds
  BuildOutcome outcome = BuildOutcome::none;
  bool reported = false;  // the log has said so
  std::string why;

  std::string to_text() const;
  static std::optional<BuildState> parse(const std::string& text);
};

// A refusal is asked again this many times in all, then the module stays on jit.
inline constexpr int kRefusalsBeforeGivingUp = 2;

enum class NextStep { build, wait, give_up };

// What to do now given the last attempt: a transient failure waits
// retry_delay, doubled for each attempt (up to 64 times), a refusal waits
// retry_delay once and is then given up.
NextStep next_step(const BuildState& state, std::int64_t now, std::chrono::seconds retry_delay);

// Under `auto`, for a module that runs jit: starts the aot build of cache
// entry so_name from the cached translation c_name in a detached, low
// priority process of our own, which seals and publishes the object; at most
// one per entry (a lock held while it runs). Logs once an earlier failure
// (module_name names the module). Returns whether a build started.
bool start_background_aot(const ModuleCache& cache, const std::string& c_name,
                          const std::string& so_name, const std::string& key,
                          std::chrono::seconds retry_delay, const std::string& module_name);

// Starts nothing: only logs, once, an earlier build's failure not yet told
// (for a process that leaves the build to another).
void report_background_aot(const ModuleCache& cache, const std::string& so_name,
                           std::chrono::seconds retry_delay, const std::string& module_name);

}  // namespace wasmshim::wasm
