// Private: an elastic thread pool for handlers. Handlers may block for a long
// time (a shim's Wait lasts as long as its container), so threads are added on
// demand up to a cap instead of a fixed few being shared.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace wasmshim::ttrpc {

class WorkerPool {
 public:
  WorkerPool(std::size_t max_workers, std::chrono::milliseconds idle_timeout);
  // Runs what is queued, then joins every thread.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(std::function<void()> task);
  std::size_t thread_count() const;

 private:
  void run_worker(std::list<std::thread>::iterator self);
  void join_exited_locked(std::unique_lock<std::mutex>& lock);

  const std::size_t max_workers_;
  const std::chrono::milliseconds idle_timeout_;
  mutable std::mutex mu_;
  std::condition_variable work_ready_;
  std::deque<std::function<void()>> queue_;
  std::list<std::thread> running_;
  // Threads that left run_worker on idle timeout; joined by the next submit.
  std::vector<std::thread> exited_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace wasmshim::ttrpc
