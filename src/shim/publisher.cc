#include "publisher.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>

#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "small_files.h"
#include "wasmshim/ttrpc/client.h"

extern char** environ;

namespace wasmshim::shim {

namespace events_v1 = ::containerd::services::events::ttrpc::v1;

struct EventPublisher::Connection {
  std::unique_ptr<ttrpc::Client> client;
};

EventPublisher::EventPublisher(PublisherOptions options)
    : options_(std::move(options)), connection_(std::make_unique<Connection>()) {
  thread_ = std::thread([this] { run(); });
}

EventPublisher::~EventPublisher() {
  flush(std::chrono::seconds(5));
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    changed_.notify_all();
  }
  thread_.join();
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

void EventPublisher::publish(const std::string& topic, const google::protobuf::MessageLite& event) {
  Item item;
  item.topic = topic;
  // containerd names event types by their protobuf full name, no prefix.
  item.type_url = event_type_name(topic, event);
  item.payload = event.SerializeAsString();
  item.unix_nano = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(item));
  changed_.notify_all();
}

void EventPublisher::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return queue_.empty() && !busy_; });
}

void EventPublisher::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      return;
    }
    Item item = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    const bool sent = send(item);
    if (!sent && options_.log) {
      options_.log("event " + item.topic + " could not be delivered to containerd");
    }
    lock.lock();
    busy_ = false;
    changed_.notify_all();
  }
}

bool EventPublisher::send(const Item& item) {
  events_v1::ForwardRequest request;
  auto* envelope = request.mutable_envelope();
  envelope->mutable_timestamp()->set_seconds(item.unix_nano / 1000000000);
  envelope->mutable_timestamp()->set_nanos(static_cast<std::int32_t>(item.unix_nano % 1000000000));
  envelope->set_namespace_(options_.namespace_name);
  envelope->set_topic(item.topic);
  envelope->mutable_event()->set_type_url(item.type_url);
  envelope->mutable_event()->set_value(item.payload);
  const std::string bytes = request.SerializeAsString();
  // Two tries over ttrpc (the connection may have gone stale), then the
  // binary, as containerd's own shims do.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (send_ttrpc(bytes)) {
      return true;
    }
  }
  return send_binary(item);
}

bool EventPublisher::send_ttrpc(const std::string& request) {
  if (options_.ttrpc_address.empty()) {
    return false;
  }
  try {
    if (!connection_->client) {
      connection_->client = ttrpc::Client::connect(options_.ttrpc_address, std::chrono::seconds(1));
    }
    ttrpc::CallOptions call;
    call.timeout = std::chrono::seconds(5);
    auto response = connection_->client->call("containerd.services.events.ttrpc.v1.Events",
                                              "Forward", request, call);
    if (response.status.is_ok()) {
      return true;
    }
    if (options_.log) {
      options_.log("forwarding an event to containerd failed: " + response.status.to_string());
    }
  } catch (const std::exception& e) {
    if (options_.log) {
      options_.log(std::string("cannot reach containerd's events service: ") + e.what());
    }
  }
  connection_->client.reset();
  return false;
}

// `containerd --address A publish --topic T --namespace N` with the event
// (an Any) on stdin.
bool EventPublisher::send_binary(const Item& item) {
  if (options_.publish_binary.empty()) {
    return false;
  }
  google::protobuf::Any any;
  any.set_type_url(item.type_url);
  any.set_value(item.payload);
  const std::string input = any.SerializeAsString();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
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
  int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[0]);
  if (rc != 0) {
    ::close(fds[1]);
    return false;
  }
  (void)write_all(fds[1], input);  // the answer is the child's exit status, below
  ::close(fds[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace wasmshim::shim
