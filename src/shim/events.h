// Task events to containerd, in order, never blocking the task service.
#pragma once

#include <google/protobuf/message_lite.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace wasmshim::shim {

// Where events go; the task service only publishes.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // `topic` like "/tasks/exit"; the event is one of containerd.events.*.
  virtual void publish(const std::string& topic, const google::protobuf::MessageLite& event) = 0;
};

}  // namespace wasmshim::shim
