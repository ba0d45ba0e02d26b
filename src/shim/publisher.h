// Sends task events to containerd in the order they happen: over ttrpc to
// containerd's events service (TTRPC_ADDRESS), falling back to the publish
// binary (`containerd publish`) when that fails. One thread drains a queue,
// so the task service never waits for containerd.
//
// An event containerd cannot take (it is down, or restarting) stays at the
// head of the queue and is tried again after a growing delay, as
// containerd's own shims do, so a task that ends while containerd restarts
// still gets its exit event once containerd is back. Later events wait
// behind it: none overtakes an earlier one. Holding is bounded in count and
// in time, and every event dropped is named in the shim log with the reason.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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
  // After a failed try the head event waits retry_initial_delay, then twice
  // that after each further failure, never more than retry_max_delay.
  std::chrono::milliseconds retry_initial_delay{200};
  std::chrono::milliseconds retry_max_delay{5000};
  // An event not taken this long after it was published is dropped: long
  // enough for containerd to restart, short enough not to send stale news.
  std::chrono::milliseconds give_up_after{std::chrono::minutes(5)};
  // Events held at most (containerd's shims queue as many); when full, the
  // oldest event that is not an exit makes room (exits matter most: CRI
  // learns of a container's end from them).
  std::size_t max_queued = 2048;
  // How long one Forward call may wait for containerd's answer (containerd's
  // shims wait as long).
  std::chrono::milliseconds call_timeout{5000};
  // How long the destructor waits for held events before dropping them.
  std::chrono::milliseconds exit_grace{5000};
};

// The type URL containerd expects for an event: its protobuf full name,
// known from the topic for the task events the shim sends, so a daemon
// never builds the events file's descriptors just for a name (that was
// ~1% of a container start); anything else asks the descriptor.
std::string event_type_name(const std::string& topic, const google::protobuf::MessageLite& event);

class EventPublisher final : public EventSink {
 public:
  explicit EventPublisher(PublisherOptions options);
  // stop(options.exit_grace) unless stopped already.
  ~EventPublisher() override;
  EventPublisher(const EventPublisher&) = delete;
  EventPublisher& operator=(const EventPublisher&) = delete;

  void publish(const std::string& topic, const google::protobuf::MessageLite& event) override;
  // Waits until everything queued so far was sent or dropped, up to
  // `timeout`; true when nothing is left.
  bool flush(std::chrono::milliseconds timeout);
  // Flushes for up to `grace`, then abandons the try in flight (closes the
  // connection, kills the publish binary), logs each event still held as
  // dropped and ends the thread. Returns in about `grace` whatever the state
  // of containerd. Events published after this are dropped, with a log line.
  void stop(std::chrono::milliseconds grace);

 private:
  struct Item {
    std::uint64_t sequence = 0;
    std::string topic;
    std::string type_url;
    std::string payload;
    std::int64_t unix_nano = 0;
    std::chrono::steady_clock::time_point published;
  };
  enum class Outcome { kDelivered, kRefused, kUnreachable };
  struct Attempt {
    Outcome outcome = Outcome::kUnreachable;
    std::string reason;
  };

  void run();
  // These three are called with mutex_ held; they add log lines to `notes`,
  // which say() writes once it is released.
  void settle(const Item& item, const Attempt& attempt, std::deque<std::string>& notes);
  void drop_expired(std::deque<std::string>& notes);
  void make_room(std::deque<std::string>& notes);
  void say(std::deque<std::string>& notes);
  bool abandoned();
  Attempt send(const Item& item);
  Attempt send_ttrpc(const std::string& request);
  Attempt send_binary(const Item& item);

  PublisherOptions options_;
  std::mutex mutex_;
  std::condition_variable changed_;
  // The head is the event being tried; it leaves the queue only when
  // delivered or dropped, so flush() sees it.
  std::deque<Item> queue_;
  std::uint64_t next_sequence_ = 0;
  bool sending_ = false;
  bool stopping_ = false;
  // The stretch of failures the head is in: when it began, the next delay.
  std::optional<std::chrono::steady_clock::time_point> failing_since_;
  std::chrono::milliseconds retry_delay_{0};
  std::string last_error_;
  std::thread thread_;
  // What stop() interrupts; guarded by mutex_.
  struct Transport;
  std::unique_ptr<Transport> transport_;
};

}  // namespace wasmshim::shim
