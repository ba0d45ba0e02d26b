#include "worker_pool.h"

namespace wasmshim::ttrpc {

WorkerPool::WorkerPool(std::size_t max_workers, std::chrono::milliseconds idle_timeout)
    : max_workers_(max_workers == 0 ? 1 : max_workers), idle_timeout_(idle_timeout) {}

WorkerPool::~WorkerPool() {
  std::list<std::thread> running;
  std::vector<std::thread> exited;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    running.swap(running_);
    exited.swap(exited_);
  }
  work_ready_.notify_all();
  for (std::thread& t : running) {
    t.join();
  }
  for (std::thread& t : exited) {
    t.join();
  }
}

void WorkerPool::submit(std::function<void()> task) {
  std::unique_lock lock(mu_);
  join_exited_locked(lock);
  queue_.push_back(std::move(task));
  // An idle thread will take it; otherwise grow while under the cap.
  if (idle_ >= queue_.size() || running_.size() >= max_workers_) {
    lock.unlock();
    work_ready_.notify_one();
    return;
  }
  running_.emplace_back();
  auto self = std::prev(running_.end());
  *self = std::thread([this, self] { run_worker(self); });
}

std::size_t WorkerPool::thread_count() const {
  std::lock_guard lock(mu_);
  return running_.size();
}

void WorkerPool::join_exited_locked(std::unique_lock<std::mutex>& lock) {
  if (exited_.empty()) {
    return;
  }
  std::vector<std::thread> exited;
  exited.swap(exited_);
  lock.unlock();
  for (std::thread& t : exited) {
    t.join();  // these have returned from run_worker already: quick
  }
  lock.lock();
}

void WorkerPool::run_worker(std::list<std::thread>::iterator self) {
  std::unique_lock lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) {
        return;  // the destructor owns and joins this thread
      }
      ++idle_;
      bool woke = work_ready_.wait_for(lock, idle_timeout_,
                                       [this] { return stopping_ || !queue_.empty(); });
      --idle_;
      if (!woke) {
        // Idle too long: hand our std::thread to exited_ so someone joins it.
        exited_.push_back(std::move(*self));
        running_.erase(self);
        return;
      }
      continue;
    }
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // destroy captured state outside the lock
    lock.lock();
  }
}

}  // namespace wasmshim::ttrpc
