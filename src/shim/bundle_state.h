// What the daemon leaves in the bundle so `delete` can clean up after a shim
// that died: the task's pid once started, its exit once known.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "events.h"

namespace wasmshim::shim {

struct BundleState {
  std::uint32_t pid = 0;
  std::optional<std::uint32_t> exit_status;
  std::int64_t exited_at_unix_nano = 0;
};

// Reads <bundle>/wasmshim-task.json; empty state when absent or unreadable.
BundleState read_bundle_state(const std::string& bundle);
void write_bundle_state(const std::string& bundle, const BundleState& state);

// Passes events on and records starts and exits in the task's bundle.
class RecordingEventSink final : public EventSink {
 public:
  explicit RecordingEventSink(EventSink& next) : next_(next) {}
  void publish(const std::string& topic, const google::protobuf::MessageLite& event) override;

 private:
  EventSink& next_;
  std::mutex mutex_;
  std::map<std::string, std::string> bundles_;  // task id -> bundle
};

}  // namespace wasmshim::shim
