// Test support: whether a thread of this process is asleep in a condition
// wait (a condition variable, timed or not, or a future waited on with a
// deadline), read from the kernel's /proc/self/task/TID/syscall. A test
// waits for a waiter to be in place before it acts, instead of sleeping and
// hoping it is.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wasmshim::testing {

inline pid_t current_thread_id() {
  return static_cast<pid_t>(::syscall(SYS_gettid));
}

// The threads of process `pid`, this one by default. A sanitizer's runtime
// may start a thread of its own at a process's first thread creation
// (ThreadSanitizer does); one thread has come and gone here before this
// process's threads are listed, so that one never shows up as started by
// whatever a test made first.
inline std::vector<pid_t> thread_ids(pid_t pid = ::getpid()) {
  if (pid == ::getpid()) {
    static std::once_flag runtime_threads_started;
    std::call_once(runtime_threads_started, [] { std::thread([] {}).join(); });
  }
  std::vector<pid_t> ids;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    ids.push_back(static_cast<pid_t>(std::stol(entry.path().filename().string())));
  }
  return ids;
}

// Asleep in futex(FUTEX_WAIT_BITSET): how glibc's condition variables wait,
// and libstdc++'s futures with a deadline (without one they use FUTEX_WAIT,
// as a contended mutex does, so a thread only queueing for a lock does not
// count). False for a thread that runs, has gone, or sleeps otherwise.
inline bool in_condition_wait(pid_t thread) {
  std::ifstream in("/proc/self/task/" + std::to_string(thread) + "/syscall");
  long number = -1;
  std::string address;
  std::string operation;
  if (!(in >> number >> address >> operation) || number != SYS_futex) {
    return false;
  }
  const unsigned long op = std::stoul(operation, nullptr, 16);
  const auto flags = static_cast<unsigned long>(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  return (op & ~flags) == FUTEX_WAIT_BITSET;
}

// Asleep in nanosleep or clock_nanosleep (std::this_thread::sleep_for).
inline bool in_sleep(pid_t thread) {
  std::ifstream in("/proc/self/task/" + std::to_string(thread) + "/syscall");
  long number = -1;
  return (in >> number) && (number == SYS_nanosleep || number == SYS_clock_nanosleep);
}

// Polls until `thread` is asleep in a condition wait; false if it is not
// within `limit` (a generous bound for a busy machine, never a measure), or
// as soon as `gone_elsewhere` says the thread has finished what it was
// expected to wait in.
inline bool wait_until_in_condition_wait(
    pid_t thread, const std::function<bool()>& gone_elsewhere = {},
    std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!in_condition_wait(thread)) {
    if (std::chrono::steady_clock::now() > give_up || (gone_elsewhere && gone_elsewhere())) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace wasmshim::testing
