// Test support: the system call a thread is blocked in, from
// /proc/PID/task/TID/syscall, and whether it has a timeout. A thread
// asleep without one wakes only when something happens; one with a timeout
// wakes on a clock. A test asks this of a thread, instead of counting its
// wake-ups over a time it chooses.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/thread_waits.h"

namespace wasmshim::testing {

struct BlockedCall {
  long number = -1;
  std::vector<unsigned long> args;  // the six arguments
};

// The call `tid` of `pid` is in; nothing when it runs or has gone.
inline std::optional<BlockedCall> blocked_call(pid_t pid, pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/syscall");
  BlockedCall call;
  if (!(in >> call.number) || call.number < 0) {
    return std::nullopt;  // "running", or "-1 sp pc" outside a call
  }
  for (std::string arg; call.args.size() < 6 && in >> arg;) {
    call.args.push_back(std::stoul(arg, nullptr, 16));
  }
  if (call.args.size() < 6) {
    return std::nullopt;
  }
  return call;
}

// Blocked until something happens, with no clock to wake it: a futex wait
// without a timeout (a condition variable's wait(), a mutex), poll or
// epoll_wait with -1, ppoll without a timeout, or a read, recv, accept or
// waitpid (which never time out).
inline bool asleep_without_timeout(const BlockedCall& call) {
  const auto& a = call.args;
  switch (call.number) {
    case SYS_futex: {
      const unsigned long op =
          a[1] & ~static_cast<unsigned long>(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
      return (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET) && a[3] == 0;
    }
    case SYS_poll:
      return static_cast<int>(a[2]) == -1;
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
      return static_cast<int>(a[3]) == -1;
    case SYS_ppoll:
      return a[2] == 0;
    case SYS_read:
    case SYS_recvfrom:
    case SYS_recvmsg:
    case SYS_accept:
    case SYS_accept4:
    case SYS_wait4:
    case SYS_waitid:
      return true;
    default:
      return false;
  }
}

inline std::string describe(const std::optional<BlockedCall>& call) {
  if (!call) {
    return "running";
  }
  std::string text = "syscall " + std::to_string(call->number) + "(";
  for (std::size_t i = 0; i < call->args.size(); ++i) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%s0x%lx", i == 0 ? "" : ", ", call->args[i]);
    text += hex;
  }
  return text + ")";
}

// The threads of `pid` (of this process by default) but the calling one.
inline std::vector<pid_t> other_threads(pid_t pid = ::getpid()) {
  std::vector<pid_t> ids = thread_ids(pid);
  std::erase(ids, current_thread_id());
  return ids;
}

// Polls until `tid` of this process is asleep without a timeout; false if
// not within `limit` (a bound for a busy machine, never a measure).
inline bool wait_until_asleep_without_timeout(
    pid_t tid, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (true) {
    const auto call = blocked_call(::getpid(), tid);
    if (call && asleep_without_timeout(*call)) {
      return true;
    }
    if (std::chrono::steady_clock::now() > give_up) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace wasmshim::testing
