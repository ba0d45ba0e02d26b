#include "publisher.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "small_files.h"
#include "wasmshim/ttrpc/client.h"

extern char** environ;

namespace wasmshim::shim {

namespace events_v1 = ::containerd::services::events::ttrpc::v1;
using Clock = std::chrono::steady_clock;

struct EventPublisher::Transport {
  // Made and dropped only by the publisher thread, closed by stop().
  std::unique_ptr<ttrpc::Client> client;
  // The `containerd publish` running now, for stop() to kill.
  base::UniqueFd binary_pidfd;
};

namespace {

constexpr const char* kExitTopic = "/tasks/exit";
// Held events named one by one when the publisher stops; the rest counted.
constexpr std::size_t kNamedAtExit = 10;

// Every containerd task event has the container's id as its field 1; the
// log names it so an operator knows whose event was dropped.
std::string container_id_of(const std::string& payload) {
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const std::uint8_t*>(payload.data()), static_cast<int>(payload.size()));
  constexpr std::uint32_t kField1Bytes = (1U << 3) | 2U;
  std::uint32_t length = 0;
  std::string id;
  if (input.ReadTag() != kField1Bytes || !input.ReadVarint32(&length) || length > 256 ||
      !input.ReadString(&id, static_cast<int>(length))) {
    return {};
  }
  return id;
}

// A failure containerd may get over (down, restarting, busy): worth a
// retry. Any other answer refuses this event for good.
bool transient(ttrpc::StatusCode code) {
  using enum ttrpc::StatusCode;
  return code == kUnavailable || code == kDeadlineExceeded || code == kCancelled ||
         code == kUnknown || code == kInternal || code == kResourceExhausted || code == kAborted;
}

std::string seconds_text(Clock::duration elapsed) {
  const auto tenths = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

void block_sigpipe_in_this_thread() {
  // A publish binary that dies before reading its stdin must cost an EPIPE,
  // not the process.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace

EventPublisher::EventPublisher(PublisherOptions options)
    : options_(std::move(options)), transport_(std::make_unique<Transport>()) {
  thread_ = std::thread([this] { run(); });
}

EventPublisher::~EventPublisher() {
  stop(options_.exit_grace);
}

std::string event_type_name(const std::string& topic, const google::protobuf::MessageLite& event) {
  static const std::map<std::string, std::string, std::less<>> kTaskEvents = {
      {"/tasks/create", "containerd.events.TaskCreate"},
      {"/tasks/start", "containerd.events.TaskStart"},
      {"/tasks/oom", "containerd.events.TaskOOM"},
      {"/tasks/exit", "containerd.events.TaskExit"},
      {"/tasks/delete", "containerd.events.TaskDelete"}};
  if (auto it = kTaskEvents.find(topic); it != kTaskEvents.end()) {
    return it->second;
  }
  return event.GetTypeName();
}

namespace {

std::string describe(const std::string& topic, const std::string& payload) {
  const std::string id = container_id_of(payload);
  return "event " + topic + (id.empty() ? "" : " of " + id);
}

std::string dropped(const std::string& what, const std::string& why) {
  return what + " could not be delivered to containerd, dropped: " + why;
}

}  // namespace

void EventPublisher::publish(const std::string& topic, const google::protobuf::MessageLite& event) {
  Item item;
  item.topic = topic;
  // containerd names event types by their protobuf full name, no prefix.
  item.type_url = event_type_name(topic, event);
  item.payload = event.SerializeAsString();
  item.unix_nano = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  item.published = Clock::now();
  std::deque<std::string> notes;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      notes.push_back(dropped(describe(item.topic, item.payload), "the shim is exiting"));
    } else {
      item.sequence = next_sequence_++;
      queue_.push_back(std::move(item));
      make_room(notes);
      changed_.notify_all();
    }
  }
  say(notes);
}

// Called with the new event already at the back. Never drops the event in
// flight: it may be delivered yet.
void EventPublisher::make_room(std::deque<std::string>& notes) {
  while (queue_.size() > options_.max_queued) {
    const auto first = queue_.begin() + (sending_ ? 1 : 0);
    auto victim = std::find_if(first, queue_.end(),
                               [](const Item& item) { return item.topic != kExitTopic; });
    if (victim == queue_.end()) {
      victim = first;  // only exits held: the oldest goes
    }
    if (victim == queue_.end()) {
      return;  // only the event in flight is held
    }
    notes.push_back(dropped(describe(victim->topic, victim->payload),
                            "containerd has not taken the " + std::to_string(options_.max_queued) +
                                " events held before it"));
    queue_.erase(victim);
  }
}

bool EventPublisher::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return queue_.empty() && !sending_; });
}

void EventPublisher::stop(std::chrono::milliseconds grace) {
  flush(grace);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    // Abandon the try in flight, so an unreachable or silent containerd
    // cannot hold the shim's exit.
    if (transport_->client) {
      transport_->client->close();
    }
    if (transport_->binary_pidfd.valid()) {
      ::syscall(SYS_pidfd_send_signal, transport_->binary_pidfd.get(), SIGKILL, nullptr, 0);
    }
    changed_.notify_all();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void EventPublisher::say(std::deque<std::string>& notes) {
  for (const auto& note : notes) {
    if (options_.log) {
      options_.log(note);
    }
  }
  notes.clear();
}

void EventPublisher::run() {
  block_sigpipe_in_this_thread();
  std::deque<std::string> notes;
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) {
      break;
    }
    drop_expired(notes);
    if (queue_.empty()) {
      changed_.notify_all();
      lock.unlock();
      say(notes);
      lock.lock();
      continue;
    }
    const Item item = queue_.front();
    sending_ = true;
    lock.unlock();
    say(notes);
    const Attempt attempt = send(item);
    lock.lock();
    sending_ = false;
    settle(item, attempt, notes);
    changed_.notify_all();
    lock.unlock();
    say(notes);
    lock.lock();
    if (attempt.outcome == Outcome::kUnreachable) {
      changed_.wait_for(lock, retry_delay_, [&] { return stopping_; });
    }
  }
  std::size_t named = 0;
  for (const Item& item : queue_) {
    if (named++ < kNamedAtExit) {
      notes.push_back(dropped(describe(item.topic, item.payload),
                              "the shim is exiting and containerd has not taken it" +
                                  (last_error_.empty() ? "" : " (" + last_error_ + ")")));
    }
  }
  if (queue_.size() > kNamedAtExit) {
    notes.push_back(std::to_string(queue_.size() - kNamedAtExit) +
                    " more events could not be delivered to containerd, dropped as the shim exits");
  }
  queue_.clear();
  changed_.notify_all();
  lock.unlock();
  say(notes);
}

void EventPublisher::drop_expired(std::deque<std::string>& notes) {
  const auto now = Clock::now();
  while (!queue_.empty() && now - queue_.front().published >= options_.give_up_after) {
    const Item& item = queue_.front();
    notes.push_back(dropped(describe(item.topic, item.payload),
                            "not taken within " + seconds_text(options_.give_up_after) +
                                (last_error_.empty() ? "" : " (" + last_error_ + ")")));
    queue_.pop_front();
  }
}

// Called with the lock held, after a try of `item`.
void EventPublisher::settle(const Item& item, const Attempt& attempt,
                            std::deque<std::string>& notes) {
  const bool at_head = !queue_.empty() && queue_.front().sequence == item.sequence;
  if (attempt.outcome == Outcome::kUnreachable) {
    last_error_ = attempt.reason;
    if (!failing_since_) {
      failing_since_ = Clock::now();
      retry_delay_ = options_.retry_initial_delay;
      notes.push_back("containerd does not take events now (" + attempt.reason +
                      "): holding them, in order, and retrying");
    } else {
      retry_delay_ = std::min(retry_delay_ * 2, options_.retry_max_delay);
    }
    return;
  }
  if (at_head) {
    queue_.pop_front();
  }
  if (attempt.outcome == Outcome::kRefused) {
    notes.push_back(dropped(describe(item.topic, item.payload), attempt.reason));
  } else if (!attempt.reason.empty()) {
    notes.push_back(attempt.reason);  // delivered, with something to say on how
  }
  if (failing_since_) {
    notes.push_back("containerd takes events again after " +
                    seconds_text(Clock::now() - *failing_since_) + "; " +
                    std::to_string(queue_.size()) + " more held are on their way");
    failing_since_.reset();
  }
  last_error_.clear();
}

bool EventPublisher::abandoned() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

EventPublisher::Attempt EventPublisher::send(const Item& item) {
  if (options_.ttrpc_address.empty() && options_.publish_binary.empty()) {
    return {Outcome::kRefused, "the shim was given neither TTRPC_ADDRESS nor a publish binary"};
  }
  Attempt over_ttrpc{Outcome::kUnreachable, "no TTRPC_ADDRESS"};
  if (!options_.ttrpc_address.empty()) {
    events_v1::ForwardRequest request;
    auto* envelope = request.mutable_envelope();
    envelope->mutable_timestamp()->set_seconds(item.unix_nano / 1000000000);
    envelope->mutable_timestamp()->set_nanos(
        static_cast<std::int32_t>(item.unix_nano % 1000000000));
    envelope->set_namespace_(options_.namespace_name);
    envelope->set_topic(item.topic);
    envelope->mutable_event()->set_type_url(item.type_url);
    envelope->mutable_event()->set_value(item.payload);
    const std::string bytes = request.SerializeAsString();
    // A second try on a fresh connection: the one held goes stale when
    // containerd restarts.
    for (int attempt = 0; attempt < 2 && !abandoned(); ++attempt) {
      over_ttrpc = send_ttrpc(bytes);
      if (over_ttrpc.outcome != Outcome::kUnreachable) {
        break;
      }
    }
    if (over_ttrpc.outcome == Outcome::kDelivered) {
      return over_ttrpc;
    }
  }
  if (options_.publish_binary.empty() || abandoned()) {
    return over_ttrpc;
  }
  Attempt binary = send_binary(item);
  if (binary.outcome == Outcome::kDelivered) {
    if (!options_.ttrpc_address.empty()) {
      binary.reason = "sent " + describe(item.topic, item.payload) +
                      " through the publish binary: " + over_ttrpc.reason;
    }
    return binary;
  }
  if (options_.ttrpc_address.empty()) {
    return binary;
  }
  // ttrpc is the route containerd serves; its answer decides.
  over_ttrpc.reason += "; " + binary.reason;
  return over_ttrpc;
}

EventPublisher::Attempt EventPublisher::send_ttrpc(const std::string& request) {
  ttrpc::Client* client = nullptr;
  {
    std::lock_guard lock(mutex_);
    client = transport_->client.get();
  }
  if (client == nullptr) {
    try {
      // No wait for the socket to appear: the retry delay is the wait.
      auto fresh = ttrpc::Client::connect(options_.ttrpc_address, std::chrono::milliseconds(0));
      std::lock_guard lock(mutex_);
      if (stopping_) {
        return {Outcome::kUnreachable, "the publisher is stopping"};
      }
      transport_->client = std::move(fresh);
      client = transport_->client.get();
    } catch (const std::exception& e) {
      return {Outcome::kUnreachable,
              std::string("cannot reach containerd's events service: ") + e.what()};
    }
  }
  ttrpc::CallOptions call;
  call.timeout = options_.call_timeout;
  auto response =
      client->call("containerd.services.events.ttrpc.v1.Events", "Forward", request, call);
  if (response.status.is_ok()) {
    return {Outcome::kDelivered, {}};
  }
  {
    std::lock_guard lock(mutex_);
    transport_->client.reset();
  }
  const std::string reason = "containerd's events service answered " + response.status.to_string();
  return {transient(response.status.code()) ? Outcome::kUnreachable : Outcome::kRefused, reason};
}

// `containerd --address A publish --topic T --namespace N` with the event
// (an Any) on stdin.
EventPublisher::Attempt EventPublisher::send_binary(const Item& item) {
  google::protobuf::Any any;
  any.set_type_url(item.type_url);
  any.set_value(item.payload);
  const std::string input = any.SerializeAsString();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return {Outcome::kUnreachable, "pipe for the publish binary failed"};
  }
  base::UniqueFd read_end(fds[0]);
  base::UniqueFd write_end(fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, read_end.get(), STDIN_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args{options_.publish_binary,
                                "--address",
                                options_.containerd_address,
                                "publish",
                                "--topic",
                                item.topic,
                                "--namespace",
                                options_.namespace_name};
  std::vector<char*> argv;
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  read_end.reset();
  if (rc != 0) {
    return {Outcome::kUnreachable, options_.publish_binary + " could not be run"};
  }
  {
    std::lock_guard lock(mutex_);
    transport_->binary_pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (stopping_ && transport_->binary_pidfd.valid()) {
      ::syscall(SYS_pidfd_send_signal, transport_->binary_pidfd.get(), SIGKILL, nullptr, 0);
    }
  }
  (void)write_all(write_end.get(), input);  // the answer is the child's exit status, below
  write_end.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  {
    std::lock_guard lock(mutex_);
    transport_->binary_pidfd.reset();
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return {Outcome::kDelivered, {}};
  }
  return {Outcome::kUnreachable,
          "containerd publish " +
              std::string(WIFEXITED(status)
                              ? "exited with status " + std::to_string(WEXITSTATUS(status))
                              : "was killed")};
}

}  // namespace wasmshim::shim
