#include "worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "test_util.h"

namespace wasmshim::ttrpc {
namespace {

using testing::eventually;

TEST(WorkerPool, RunsEveryTask) {
  std::atomic<int> done{0};
  {
    WorkerPool pool(4, std::chrono::seconds(10));
    for (int i = 0; i < 1000; ++i) {
      pool.submit([&] { done.fetch_add(1); });
    }
  }  // the destructor runs what is still queued
  EXPECT_EQ(done.load(), 1000);
}

TEST(WorkerPool, GrowsForBlockedTasksUpToTheCap) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> started{0};
  WorkerPool pool(3, std::chrono::seconds(10));
  for (int i = 0; i < 5; ++i) {
    pool.submit([&] {
      started.fetch_add(1);
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return release; });
    });
  }
  EXPECT_TRUE(eventually([&] { return started.load() == 3; }));
  EXPECT_EQ(pool.thread_count(), 3u);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_TRUE(eventually([&] { return started.load() == 5; }));
}

TEST(WorkerPool, IdleThreadsExit) {
  WorkerPool pool(8, std::chrono::milliseconds(20));
  std::atomic<int> done{0};
  for (int i = 0; i < 8; ++i) {
    pool.submit([&] { done.fetch_add(1); });
  }
  EXPECT_TRUE(eventually([&] { return done.load() == 8; }));
  EXPECT_TRUE(eventually([&] { return pool.thread_count() == 0; }));
  pool.submit([&] { done.fetch_add(1); });  // joins the exited threads, starts a new one
  EXPECT_TRUE(eventually([&] { return done.load() == 9; }));
}

}  // namespace
}  // namespace wasmshim::ttrpc
