#include "wasmshim/container/zygote.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>

#include "wasmshim/base/c_strings.h"
#include "wasmshim/container/command_line.h"
#include "wasmshim/container/setup.h"
#include "zygote_channel.h"
#include "zygote_client.h"

namespace wasmshim::container {
namespace detail {
namespace {

using base::UniqueFd;

constexpr std::size_t kMaxMessage = kZygoteMaxMessage;
constexpr std::size_t kMaxFds = kZygoteMaxFds;
// Where the zygote keeps what it receives: clear of the numbers a request
// places fds at in the child.
constexpr int kHighFd = 100;

// Both ends are this binary on this machine: ints in host order, strings
// with their length in front.
class Writer {
 public:
  void put(std::int32_t value) {
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof(value));
  }
  void put(const std::string& text) {
    put(static_cast<std::int32_t>(text.size()));
    bytes_ += text;
  }
  void put(const std::vector<std::string>& list) {
    put(static_cast<std::int32_t>(list.size()));
    for (const auto& text : list) {
      put(text);
    }
  }
  void put(const std::vector<int>& list) {
    put(static_cast<std::int32_t>(list.size()));
    for (int value : list) {
      put(static_cast<std::int32_t>(value));
    }
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  bool get(std::int32_t& value) {
    if (bytes_.size() - at_ < sizeof(value)) {
      return false;
    }
    std::memcpy(&value, bytes_.data() + at_, sizeof(value));
    at_ += sizeof(value);
    return true;
  }
  bool get(std::string& text) {
    std::int32_t size = 0;
    if (!get(size) || size < 0 || bytes_.size() - at_ < static_cast<std::size_t>(size)) {
      return false;
    }
    text.assign(bytes_, at_, static_cast<std::size_t>(size));
    at_ += static_cast<std::size_t>(size);
    return true;
  }
  bool get(std::vector<std::string>& list) {
    std::int32_t count = 0;
    if (!get(count) || count < 0 || static_cast<std::size_t>(count) > bytes_.size()) {
      return false;
    }
    list.resize(static_cast<std::size_t>(count));
    return std::all_of(list.begin(), list.end(), [this](std::string& text) { return get(text); });
  }
  bool get(std::vector<int>& list) {
    std::int32_t count = 0;
    if (!get(count) || count < 0 || static_cast<std::size_t>(count) > kMaxFds) {
      return false;
    }
    list.resize(static_cast<std::size_t>(count));
    return std::all_of(list.begin(), list.end(), [this](int& value) {
      std::int32_t read = 0;
      const bool ok = get(read);
      value = read;
      return ok;
    });
  }

 private:
  const std::string& bytes_;
  std::size_t at_ = 0;
};

}  // namespace

bool send_message(int socket, const std::string& bytes, const std::vector<int>& fds) {
  iovec data{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * std::max<std::size_t>(fds.size(), 1)));
  if (!fds.empty()) {
    message.msg_control = control.data();
    message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t sent = 0;
  do {
    sent = ::sendmsg(socket, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  return sent == static_cast<ssize_t>(bytes.size());
}

int receive_message(int socket, std::string& bytes, std::vector<int>& fds) {
  // The message's length first: a buffer of kMaxMessage, zeroed for every
  // message, was a fresh mapping and its page faults each time.
  ssize_t length = 0;
  do {
    length = ::recv(socket, nullptr, 0, MSG_PEEK | MSG_TRUNC);
  } while (length < 0 && errno == EINTR);
  if (length <= 0) {
    return length == 0 ? 0 : -1;
  }
  // One byte more than allowed, so a message that is too long arrives cut
  // short (MSG_TRUNC) and is refused below.
  bytes.resize(std::min(static_cast<std::size_t>(length), kMaxMessage + 1));
  iovec data{bytes.data(), bytes.size()};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds));
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  ssize_t got = 0;
  do {
    got = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {
    return got == 0 ? 0 : -1;
  }
  bytes.resize(static_cast<std::size_t>(got));
  fds.clear();
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
      const std::size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const std::size_t first = fds.size();
      fds.resize(first + count);
      std::memcpy(fds.data() + first, CMSG_DATA(header), sizeof(int) * count);
    }
  }
  if ((message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || bytes.size() > kMaxMessage) {
    for (int fd : fds) {
      ::close(fd);
    }
    fds.clear();
    return -1;
  }
  return 1;
}

namespace {

// ---- the zygote process ----

struct ZygoteRequest {
  std::int32_t clone_flags = 0;
  std::int32_t new_cgroup_namespace = 0;
  std::int32_t new_process_group = 1;
  std::int32_t signals_blocked = 0;
  std::int32_t joins_pid_namespace = 0;
  std::vector<int> join_types;
  std::int32_t cgroup_count = 0;
  std::vector<int> fd_targets;
  std::vector<std::string> argv;
  std::vector<std::string> env;
};

std::string encode(const ZygoteRequest& request) {
  Writer out;
  out.put(request.clone_flags);
  out.put(request.new_cgroup_namespace);
  out.put(request.new_process_group);
  out.put(request.signals_blocked);
  out.put(request.joins_pid_namespace);
  out.put(request.join_types);
  out.put(request.cgroup_count);
  out.put(request.fd_targets);
  out.put(request.argv);
  out.put(request.env);
  return out.bytes();
}

bool decode(const std::string& bytes, ZygoteRequest& request) {
  Reader in(bytes);
  return in.get(request.clone_flags) && in.get(request.new_cgroup_namespace) &&
         in.get(request.new_process_group) && in.get(request.signals_blocked) &&
         in.get(request.joins_pid_namespace) && in.get(request.join_types) &&
         in.get(request.cgroup_count) && request.cgroup_count >= 0 &&
         static_cast<std::size_t>(request.cgroup_count) <= kMaxFds && in.get(request.fd_targets) &&
         in.get(request.argv) && !request.argv.empty() && in.get(request.env);
}

std::string encode_reply(std::int32_t result, const std::string& step) {
  Writer out;
  out.put(result);
  out.put(step);
  return out.bytes();
}

// Closes every fd from 3 up but `keep`.
void close_all_but(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned next = 3;
  for (int fd : keep) {
    const auto number = static_cast<unsigned>(fd);
    if (fd < 0 || number < next) {
      continue;
    }
    if (number > next) {
      ::close_range(next, number - 1, 0);
    }
    next = number + 1;
  }
  ::close_range(next, ~0U, 0);
}

// The new container process: the plan's steps, then the entry in place of
// exec. Only the program's fds stay; the error pipe closing with the rest
// tells the daemon the process runs.
[[noreturn]] void run_child(const ChildPlan& plan, const ZygoteRequest& request,
                            ZygoteEntry entry) {
  prepare_child(plan);
  ::clearenv();  // NOLINT(concurrency-mt-unsafe): the child has one thread
  for (const std::string& entry_text : request.env) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): the child has one thread.
    ::putenv(::strdup(entry_text.c_str()));  // the environment keeps it
  }
  // Before the daemon hears the process runs, so whoever looks sees it.
  set_command_line(request.argv);
  std::vector<int> keep;
  for (const auto& [from, to] : plan.fds) {
    keep.push_back(to);
  }
  close_all_but(keep);
  std::vector<char*> argv = base::c_string_array(request.argv);
  const int status = entry(static_cast<int>(request.argv.size()), argv.data());
  std::fflush(nullptr);
  ::_exit(status);
}

// One request: its fds moved clear of the child's fd numbers, the child
// cloned as the daemon's, the reply's (pid or -errno, step).
std::string serve_request(const std::string& bytes, std::vector<int>& fds, int own_pid_namespace,
                          ZygoteEntry entry) {
  for (int& fd : fds) {
    const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, kHighFd);
    ::close(fd);
    fd = high;
  }
  ZygoteRequest request;
  if (!decode(bytes, request)) {
    return encode_reply(-EINVAL, "reading the zygote's request");
  }
  const std::size_t expected =
      1 + (request.joins_pid_namespace != 0 ? 1 : 0) + request.join_types.size() +
      static_cast<std::size_t>(request.cgroup_count) + request.fd_targets.size();
  if (fds.size() != expected || std::find(fds.begin(), fds.end(), -1) != fds.end()) {
    return encode_reply(-EBADF, "passing descriptors to the zygote");
  }
  ChildPlan plan;
  std::size_t next = 0;
  plan.error_fd = fds[next++];
  const int pid_namespace = request.joins_pid_namespace != 0 ? fds[next++] : -1;
  for (int type : request.join_types) {
    plan.join_fds.emplace_back(fds[next++], type);
  }
  for (std::int32_t i = 0; i < request.cgroup_count; ++i) {
    plan.cgroup_fds.push_back(fds[next++]);
  }
  for (int target : request.fd_targets) {
    plan.fds.emplace_back(fds[next++], target);
  }
  plan.new_cgroup_namespace = request.new_cgroup_namespace != 0;
  plan.new_process_group = request.new_process_group != 0;
  if (request.signals_blocked != 0) {
    sigfillset(&plan.child_mask);
  } else {
    sigemptyset(&plan.child_mask);
  }
  if (pid_namespace >= 0 && ::setns(pid_namespace, CLONE_NEWPID) != 0) {
    return encode_reply(-errno, "joining the pid namespace");
  }
  // CLONE_PARENT: the daemon's child, which it waits for. Without CLONE_VM
  // the child has its own copy of this one-threaded process.
  const long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD | request.clone_flags, nullptr,
                             nullptr, nullptr, 0L);
  const int clone_errno = errno;
  if (pid == 0) {
    run_child(plan, request, entry);
  }
  if (pid_namespace >= 0) {
    ::setns(own_pid_namespace, CLONE_NEWPID);
  }
  if (pid < 0) {
    return encode_reply(-clone_errno, "clone into new namespaces");
  }
  return encode_reply(static_cast<std::int32_t>(pid), "");
}

[[noreturn]] void zygote_main(int socket, ZygoteEntry entry, pid_t daemon) {
  // The daemon gone, nothing is left to spawn for.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != daemon) {
    ::_exit(0);
  }
  const int channel = ::fcntl(socket, F_DUPFD_CLOEXEC, 1000);
  if (channel < 0) {
    ::_exit(1);
  }
  // Nothing of the daemon's but stdio (its /dev/null) and the channel.
  close_all_but({channel});
  const int own_pid_namespace = ::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  std::string bytes;
  std::vector<int> fds;
  for (;;) {
    const int got = receive_message(channel, bytes, fds);
    if (got == 0) {
      ::_exit(0);
    }
    const std::string reply = got > 0 ? serve_request(bytes, fds, own_pid_namespace, entry)
                                      : encode_reply(-EMSGSIZE, "reading the zygote's request");
    for (int fd : fds) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
    fds.clear();
    if (!send_message(channel, reply, {})) {
      ::_exit(0);
    }
  }
}

// ---- the daemon's side ----

struct ZygoteChannel {
  std::mutex mutex;
  UniqueFd socket;
  bool gone = false;
};

// One per process: set by start_zygote while the process has one thread.
ZygoteChannel* zygote_channel =
    nullptr;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

}  // namespace

std::optional<pid_t> spawn_through_zygote(const SpawnRequest& request, PreparedSpawn& prepared) {
  ZygoteChannel* channel = zygote_channel;
  if (channel == nullptr) {
    return std::nullopt;
  }
  ZygoteRequest message;
  message.clone_flags = prepared.clone_flags;
  message.new_cgroup_namespace = prepared.new_cgroup_namespace ? 1 : 0;
  message.new_process_group = request.new_process_group ? 1 : 0;
  message.signals_blocked = request.start_with_signals_blocked ? 1 : 0;
  message.argv = request.argv;
  message.env = request.env;
  std::vector<int> fds{prepared.error_write.get()};
  UniqueFd pid_namespace;
  if (!prepared.pid_namespace_path.empty()) {
    pid_namespace.reset(::open(prepared.pid_namespace_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!pid_namespace.valid()) {
      throw ContainerSetupError("joining the pid namespace " + prepared.pid_namespace_path + ": " +
                                std::generic_category().message(errno));
    }
    message.joins_pid_namespace = 1;
    fds.push_back(pid_namespace.get());
  }
  for (std::size_t i = 0; i < prepared.join_fds.size(); ++i) {
    message.join_types.push_back(prepared.join_types[i]);
    fds.push_back(prepared.join_fds[i].get());
  }
  message.cgroup_count = static_cast<std::int32_t>(prepared.cgroup_fds.size());
  for (const auto& fd : prepared.cgroup_fds) {
    fds.push_back(fd.get());
  }
  for (const auto& [from, to] : request.fds) {
    message.fd_targets.push_back(to);
    fds.push_back(from);
  }
  if (fds.size() > kMaxFds) {
    return std::nullopt;
  }
  std::string reply;
  {
    std::lock_guard lock(channel->mutex);
    if (channel->gone) {
      return std::nullopt;
    }
    if (!send_message(channel->socket.get(), encode(message), fds)) {
      // Nothing reached it: spawning by exec instead is safe.
      channel->gone = true;
      return std::nullopt;
    }
    std::vector<int> none;
    if (receive_message(channel->socket.get(), reply, none) <= 0) {
      channel->gone = true;
      throw ContainerSetupError("starting the container: the zygote ended during the spawn");
    }
  }
  Reader in(reply);
  std::int32_t result = 0;
  std::string step;
  if (!in.get(result) || !in.get(step)) {
    throw ContainerSetupError("starting the container: the zygote's reply is malformed");
  }
  if (result <= 0) {
    throw ContainerSetupError("starting the container: " + step + ": " +
                              std::generic_category().message(-result));
  }
  return static_cast<pid_t>(result);
}

}  // namespace detail

bool start_zygote(ZygoteEntry entry, const std::vector<std::string>& command_line) {
  if (detail::zygote_channel != nullptr) {
    return true;
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return false;
  }
  const pid_t daemon = ::getpid();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pair[0]);
    ::close(pair[1]);
    return false;
  }
  if (pid == 0) {
    ::close(pair[0]);
    // Each child gets the environment its request carries; none is needed
    // here, and its strings' room goes to the command line.
    ::clearenv();  // NOLINT(concurrency-mt-unsafe): the zygote has one thread
    set_command_line(command_line);
    detail::zygote_main(pair[1], entry, daemon);
  }
  ::close(pair[1]);
  auto* channel = new detail::ZygoteChannel;  // lives as long as the process
  channel->socket.reset(pair[0]);
  detail::zygote_channel = channel;
  return true;
}

}  // namespace wasmshim::container
