// Test support: `ctr events` of a containerd under test, read line by line.
// A test reads events only once the reader is subscribed (containerd keeps
// no events for latecomers), and reads until the line it waits for.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace wasmshim::testing {

// `ctr events` on the containerd listening at `address`, not yet known to
// be subscribed.
inline ChildProcess ctr_events(const std::string& address) {
  return ChildProcess({"/usr/bin/ctr", "--address", address, "events"});
}

// Waits until `events` (a `ctr events` just started) is subscribed: makes
// namespaces until one's creation shows on it. An event published before
// the subscription is never shown, so one namespace alone could wait
// forever. Lines read on the way go to `seen`; each namespace is removed.
inline bool subscribed(ChildProcess& events, const std::string& address, std::string& seen) {
  static std::atomic<int> made{0};
  const std::string ctr = "/usr/bin/ctr";
  for (int attempt = 0; attempt < 120; ++attempt) {
    const std::string marker =
        "subscribed-" + std::to_string(::getpid()) + "-" + std::to_string(made.fetch_add(1));
    if (run({ctr, "--address", address, "namespaces", "create", marker}).status != 0) {
      return false;
    }
    bool shown = false;
    while (auto line = events.read_line(std::chrono::milliseconds(500))) {
      seen += *line + "\n";
      if (line->find("/namespaces/create") != std::string::npos &&
          line->find(marker) != std::string::npos) {
        shown = true;
        break;
      }
    }
    run({ctr, "--address", address, "namespaces", "remove", marker});
    if (shown) {
      return true;
    }
  }
  return false;
}

// Reads `events` until a line holds every one of `needles`; all lines read
// so far go to `seen`. False at the end of the stream or after `limit`
// without a new line.
inline bool read_until(ChildProcess& events, const std::vector<std::string>& needles,
                       std::string& seen,
                       std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  while (auto line = events.read_line(limit)) {
    seen += *line + "\n";
    if (std::all_of(needles.begin(), needles.end(),
                    [&](const std::string& n) { return line->find(n) != std::string::npos; })) {
      return true;
    }
  }
  return false;
}

}  // namespace wasmshim::testing
