// WASI args, environment, clocks, randomness, process, polling and sockets.
#include <poll.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "../runtime.h"
#include "functions.h"
#include "iovec.h"

namespace wasmshim::wasm::wasi {
namespace {

// Lays out strings NUL-terminated in buf and their addresses in ptrs.
Errno store_strings(Context* c, const std::vector<std::string>& strings, u32 ptrs, u32 buf) {
  for (std::size_t i = 0; i < strings.size(); ++i) {
    const std::string& s = strings[i];
    std::uint8_t* p = c->bytes(buf, s.size() + 1);
    if (p == nullptr || !c->store(ptrs + static_cast<u32>(i) * 4, buf)) {
      return kFault;
    }
    std::memcpy(p, s.c_str(), s.size() + 1);
    buf += static_cast<u32>(s.size() + 1);
  }
  return kSuccess;
}

Errno store_sizes(Context* c, const std::vector<std::string>& strings, u32 count_out,
                  u32 size_out) {
  u32 size = 0;
  for (const std::string& s : strings) {
    size += static_cast<u32>(s.size() + 1);
  }
  return c->store(count_out, static_cast<u32>(strings.size())) && c->store(size_out, size)
             ? kSuccess
             : kFault;
}

bool clock_for(u32 id, clockid_t& out) {
  static constexpr clockid_t kClocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                          CLOCK_THREAD_CPUTIME_ID};
  if (id > 3) {
    return false;
  }
  out = kClocks[id];
  return true;
}

u64 now_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<u64>(ts.tv_sec) * 1000000000ull + static_cast<u64>(ts.tv_nsec);
}

constexpr std::uint8_t kEventClock = 0;
constexpr std::uint8_t kEventFdRead = 1;
constexpr std::uint8_t kEventFdWrite = 2;
constexpr std::uint16_t kSubclockAbstime = 1;
constexpr u32 kSubscriptionSize = 48;
constexpr u32 kEventSize = 32;

struct Subscription {
  u64 userdata = 0;
  std::uint8_t tag = 0;
  u32 clock_id = 0;
  u64 timeout = 0;
  std::uint16_t flags = 0;
  u32 fd = 0;
};

bool load_subscription(Context* c, u32 at, Subscription& s) {
  return c->load(at, s.userdata) && c->load(at + 8, s.tag) && c->load(at + 16, s.clock_id) &&
         c->load(at + 24, s.timeout) && c->load(at + 40, s.flags) && c->load(at + 16, s.fd);
}

bool store_event(Context* c, u32 at, const Subscription& s, Errno error, u64 nbytes) {
  std::uint8_t* p = c->bytes(at, kEventSize);
  if (p == nullptr) {
    return false;
  }
  std::memset(p, 0, kEventSize);
  auto code = static_cast<std::uint16_t>(error);
  std::memcpy(p, &s.userdata, 8);
  std::memcpy(p + 8, &code, 2);
  p[10] = s.tag;
  std::memcpy(p + 16, &nbytes, 8);
  return true;
}

}  // namespace

extern "C" {

u32 wasi_args_get(Context* c, u32 argv, u32 argv_buf) {
  return store_strings(c, c->config().args, argv, argv_buf);
}
u32 wasi_args_sizes_get(Context* c, u32 argc_out, u32 size_out) {
  return store_sizes(c, c->config().args, argc_out, size_out);
}
u32 wasi_environ_get(Context* c, u32 environ, u32 environ_buf) {
  return store_strings(c, c->config().env, environ, environ_buf);
}
u32 wasi_environ_sizes_get(Context* c, u32 count_out, u32 size_out) {
  return store_sizes(c, c->config().env, count_out, size_out);
}

u32 wasi_clock_res_get(Context* c, u32 id, u32 out) {
  clockid_t clock{};
  if (!clock_for(id, clock)) {
    return kInval;
  }
  timespec ts{};
  if (::clock_getres(clock, &ts) != 0) {
    return from_errno(errno);
  }
  u64 ns = static_cast<u64>(ts.tv_sec) * 1000000000ull + static_cast<u64>(ts.tv_nsec);
  return c->store(out, ns) ? kSuccess : kFault;
}

u32 wasi_clock_time_get(Context* c, u32 id, u64 /*precision*/, u32 out) {
  clockid_t clock{};
  if (!clock_for(id, clock)) {
    return kInval;
  }
  return c->store(out, now_ns(clock)) ? kSuccess : kFault;
}

u32 wasi_random_get(Context* c, u32 buf, u32 len) {
  std::uint8_t* p = c->bytes(buf, len);
  if (p == nullptr) {
    return kFault;
  }
  for (u32 done = 0; done < len;) {
    ssize_t n = ::getrandom(p + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return from_errno(errno);
    }
    done += static_cast<u32>(n);
  }
  return kSuccess;
}

u32 wasi_sched_yield(Context* /*c*/) {
  ::sched_yield();
  return kSuccess;
}

void wasi_proc_exit(Context* /*c*/, u32 code) {
  guest_exit(static_cast<int>(code));
}

u32 wasi_proc_raise(Context* /*c*/, u32 signal) {
  // Preview 1 deprecates this; a raised signal ends the guest as the signal
  // would end a process.
  guest_exit(128 + static_cast<int>(signal));
}

u32 wasi_poll_oneoff(Context* c, u32 in, u32 out, u32 count, u32 events_out) {
  if (count == 0) {
    return kInval;
  }
  std::vector<Subscription> subs(count);
  for (u32 i = 0; i < count; ++i) {
    if (!load_subscription(c, in + i * kSubscriptionSize, subs[i])) {
      return kFault;
    }
    // As wasmtime, which checks the flag bits as it reads a subscription.
    if (subs[i].tag == kEventClock && (subs[i].flags & ~kSubclockAbstime) != 0) {
      return kInval;
    }
  }
  // The earliest clock deadline bounds the wait; fds are polled until then.
  // When no fd is ready, the clocks with that deadline are the events.
  std::optional<u64> wait_ns;
  std::vector<std::optional<u64>> clock_wait(count);
  std::vector<pollfd> fds;
  std::vector<u32> fd_subs;
  u32 events = 0;
  for (u32 i = 0; i < count; ++i) {
    const Subscription& s = subs[i];
    if (s.tag == kEventClock) {
      clockid_t clock{};
      if (!clock_for(s.clock_id, clock)) {
        if (!store_event(c, out + events++ * kEventSize, s, kInval, 0)) {
          return kFault;
        }
        continue;
      }
      u64 relative = s.timeout;
      if (s.flags & kSubclockAbstime) {
        u64 now = now_ns(clock);
        relative = s.timeout > now ? s.timeout - now : 0;
      }
      clock_wait[i] = relative;
      wait_ns = wait_ns ? std::min(*wait_ns, relative) : relative;
    } else if (s.tag == kEventFdRead || s.tag == kEventFdWrite) {
      // Waiting to read needs FD_READ, to write FD_WRITE, or POLL_FD_READWRITE.
      Errno error = kSuccess;
      Rights direction = s.tag == kEventFdRead ? right::kFdRead : right::kFdWrite;
      Descriptor* d = c->find(s.fd, 0, error);
      if (d != nullptr && (d->rights_base & (direction | right::kPollFdReadwrite)) == 0) {
        d = nullptr;
        error = kNotCapable;
      }
      if (d == nullptr) {
        if (!store_event(c, out + events++ * kEventSize, s, error, 0)) {
          return kFault;
        }
        continue;
      }
      fds.push_back(
          pollfd{d->host_fd, static_cast<short>(s.tag == kEventFdRead ? POLLIN : POLLOUT), 0});
      fd_subs.push_back(i);
    } else {
      return kInval;
    }
  }
  if (events == 0) {
    int timeout_ms =
        wait_ns ? static_cast<int>(std::min<u64>((*wait_ns + 999999) / 1000000, INT32_MAX)) : -1;
    if (fds.empty() && wait_ns) {
      // Pure sleep: nanosleep keeps sub-millisecond precision.
      timespec ts{static_cast<time_t>(*wait_ns / 1000000000ull),
                  static_cast<long>(*wait_ns % 1000000000ull)};
      while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      }
    } else {
      int ready = ::poll(fds.data(), fds.size(), timeout_ms);
      if (ready < 0 && errno != EINTR) {
        return from_errno(errno);
      }
    }
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents != 0) {
        if (!store_event(c, out + events++ * kEventSize, subs[fd_subs[k]], kSuccess, 0)) {
          return kFault;
        }
      }
    }
    if (events == 0 && wait_ns) {
      for (u32 i = 0; i < count; ++i) {
        if (clock_wait[i] == wait_ns &&
            !store_event(c, out + events++ * kEventSize, subs[i], kSuccess, 0)) {
          return kFault;
        }
      }
    }
  }
  return c->store(events_out, events) ? kSuccess : kFault;
}

u32 wasi_sock_accept(Context* c, u32 fd, u32 flags, u32 fd_out) {
  Errno error = kSuccess;
  Descriptor* d = c->find(fd, right::kSockAccept, error);
  if (d == nullptr) {
    return error;
  }
  int accepted =
      ::accept4(d->host_fd, nullptr, nullptr, SOCK_CLOEXEC | ((flags & 4) ? SOCK_NONBLOCK : 0));
  if (accepted < 0) {
    return from_errno(errno);
  }
  u32 number = c->insert(Descriptor{accepted, true, kFileTypeSocketStream, std::nullopt,
                                    kSocketRights, kSocketRights, false});
  return c->store(fd_out, number) ? kSuccess : kFault;
}

u32 wasi_sock_recv(Context* c, u32 fd, u32 iovs, u32 iovs_len, u32 flags, u32 len_out,
                   u32 flags_out) {
  int host_flags = ((flags & 1) ? MSG_PEEK : 0) | ((flags & 2) ? MSG_WAITALL : 0);
  int msg_flags = 0;
  u32 result = vectored_io(c, fd, right::kFdRead, iovs, iovs_len, len_out,
                           [&](int host_fd, const iovec* vec, int count) {
                             msghdr msg{};
                             msg.msg_iov = const_cast<iovec*>(vec);
                             msg.msg_iovlen = static_cast<std::size_t>(count);
                             ssize_t n = ::recvmsg(host_fd, &msg, host_flags);
                             msg_flags = msg.msg_flags;
                             return n;
                           });
  if (result != kSuccess) {
    return result;
  }
  std::uint16_t out_flags = (msg_flags & MSG_TRUNC) ? 1 : 0;  // ro_flags: data truncated
  return c->store(flags_out, out_flags) ? kSuccess : kFault;
}

u32 wasi_sock_send(Context* c, u32 fd, u32 iovs, u32 iovs_len, u32 /*flags*/, u32 len_out) {
  return vectored_io(c, fd, right::kFdWrite, iovs, iovs_len, len_out,
                     [](int host_fd, const iovec* vec, int count) {
                       msghdr msg{};
                       msg.msg_iov = const_cast<iovec*>(vec);
                       msg.msg_iovlen = static_cast<std::size_t>(count);
                       return ::sendmsg(host_fd, &msg, MSG_NOSIGNAL);
                     });
}

u32 wasi_sock_shutdown(Context* c, u32 fd, u32 how) {
  Errno error = kSuccess;
  Descriptor* d = c->find(fd, right::kSockShutdown, error);
  if (d == nullptr) {
    return error;
  }
  // sdflags: 1 = rd, 2 = wr.
  int host_how = how == 1 ? SHUT_RD : how == 2 ? SHUT_WR : how == 3 ? SHUT_RDWR : -1;
  if (host_how < 0) {
    return kInval;
  }
  return ::shutdown(d->host_fd, host_how) == 0 ? kSuccess : from_errno(errno);
}

}  // extern "C"

}  // namespace wasmshim::wasm::wasi
