#include "thread_stacks.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <thread>

namespace wasmshim::shim {
namespace {

// The stack a std::thread started now really gets.
std::size_t stack_of_new_thread() {
  std::size_t bytes = 0;
  std::thread probe([&bytes] {
    pthread_attr_t attributes;
    ASSERT_EQ(pthread_getattr_np(pthread_self(), &attributes), 0);
    pthread_attr_getstacksize(&attributes, &bytes);
    pthread_attr_destroy(&attributes);
  });
  probe.join();
  return bytes;
}

TEST(ThreadStacks, NewThreadsGetTheDaemonsStackSize) {
  const std::size_t before = default_thread_stack();
  ASSERT_NE(before, kDaemonThreadStackBytes) << "the test would prove nothing";
  ASSERT_TRUE(set_default_thread_stack(kDaemonThreadStackBytes));
  EXPECT_EQ(default_thread_stack(), kDaemonThreadStackBytes);
  const std::size_t got = stack_of_new_thread();
  ASSERT_TRUE(set_default_thread_stack(before));  // the rest of this binary keeps its own
  // glibc may round up to whole pages and count the guard page in.
  EXPECT_GE(got, kDaemonThreadStackBytes);
  EXPECT_LT(got, kDaemonThreadStackBytes + 65536);
  EXPECT_EQ(stack_of_new_thread(), before);
}

TEST(ThreadStacks, ASizeBelowTheMinimumIsRefusedAndChangesNothing) {
  const std::size_t before = default_thread_stack();
  EXPECT_FALSE(set_default_thread_stack(1));
  EXPECT_EQ(default_thread_stack(), before);
}

}  // namespace
}  // namespace wasmshim::shim
