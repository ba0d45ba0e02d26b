// Sends task events to containerd in the order they happen: over ttrpc to
// containerd's events service (TTRPC_ADDRESS), falling back to the publish
// binary (`containerd publish`) when that fails. One thread drains a queue,
// so the task service never waits for containerd.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "events.h"

namespace wasmshim::shim {

struct PublisherOptions {
  // containerd's ttrpc socket; empty: only the publish binary is used.
  std::string ttrpc_address;
  // containerd's gRPC address and binary for `containerd publish`.
  std::string containerd_address;
  std::string publish_binary;
  std::string namespace_name;
  std::function<void(const std::string&)> log;
};

// The type URL containerd expects for an event: its protobuf full name,
// known from the topic for the task events the shim sends, so a daemon
// never builds the events file's descriptors just for a name (that was
// ~1% of a container start); anything else asks the descriptor.
std::string event_type_name(const std::string& topic, const google::protobuf::MessageLite& event);

class EventPublisher final : public EventSink {
 public:
  explicit EventPublisher(PublisherOptions options);
  // Sends what is queued (up to 5 s), then stops.
  ~EventPublisher() override;
  EventPublisher(const EventPublisher&) = delete;
  EventPublisher& operator=(const EventPublisher&) = delete;

  void publish(const std::string& topic, const google::protobuf::MessageLite& event) override;
  // Waits until everything queued so far was sent or given up on.
  void flush(std::chrono::milliseconds timeout);

 private:
  struct Item {
    std::string topic;
    std::string type_url;
    std::string payload;
    std::int64_t unix_nano = 0;
  };
  void run();
  bool send(const Item& item);
  bool send_ttrpc(const std::string& request);
  bool send_binary(const Item& item);

  PublisherOptions options_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool busy_ = false;
  std::thread thread_;
  struct Connection;
  std::unique_ptr<Connection> connection_;
};

}  // namespace wasmshim::shim
