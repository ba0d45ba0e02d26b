// An idle batch processor costs nothing: its export thread sleeps without a
// timeout while nothing is queued, and (thread_when_due) its due timer is
// armed only while spans wait.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/timerfd.h>

#include <atomic>

#include "support/blocked_calls.h"
#include "wasmshim/otel/processor.h"
#include "wasmshim/otel/tracer.h"

namespace wasmshim::otel {
namespace {

using namespace std::chrono_literals;

SpanData sampled_span() {
  SpanData span;
  span.name = "s";
  span.context = {random_trace_id(), random_span_id(), kSampledFlag, {}, false};
  return span;
}

// Counts the spans exported and names the thread that exported them.
class CountingExporter final : public SpanExporter {
 public:
  CountingExporter(std::atomic<int>& exported, std::atomic<pid_t>& thread)
      : exported_(exported), thread_(thread) {}
  ExportResult export_spans(std::span<const SpanData> spans, Clock::time_point) override {
    thread_ = static_cast<pid_t>(::syscall(SYS_gettid));
    exported_ += static_cast<int>(spans.size());
    return ExportResult::success;
  }
  void shutdown() override {}

 private:
  std::atomic<int>& exported_;
  std::atomic<pid_t>& thread_;
};

bool armed(int timer) {
  itimerspec left{};
  return ::timerfd_gettime(timer, &left) == 0 &&
         (left.it_value.tv_sec != 0 || left.it_value.tv_nsec != 0);
}

TEST(BatchIdle, ExportThreadSleepsWithoutATimeoutOnceTheQueueIsEmpty) {
  std::atomic<int> exported{0};
  std::atomic<pid_t> exporting{0};
  BatchOptions options;
  options.schedule_delay = 1ms;  // a tick would come often
  BatchSpanProcessor processor(std::make_unique<CountingExporter>(exported, exporting), options);
  processor.on_end(sampled_span());
  ASSERT_TRUE(processor.force_flush(30s));
  ASSERT_EQ(exported.load(), 1);
  EXPECT_TRUE(testing::wait_until_asleep_without_timeout(exporting))
      << testing::describe(testing::blocked_call(::getpid(), exporting));

  // It still wakes for the next span, and exports it on schedule.
  processor.on_end(sampled_span());
  ASSERT_TRUE(processor.force_flush(30s));
  EXPECT_EQ(exported.load(), 2);
  EXPECT_TRUE(processor.shutdown(30s));
}

TEST(BatchIdle, DueTimerIsArmedOnlyWhileSpansWait) {
  std::atomic<int> exported{0};
  std::atomic<pid_t> exporting{0};
  BatchOptions options;
  options.schedule_delay = 1ms;
  options.thread_when_due = true;
  BatchSpanProcessor processor(std::make_unique<CountingExporter>(exported, exporting), options);
  const int due = processor.due_fd();
  ASSERT_GE(due, 0);
  EXPECT_FALSE(armed(due)) << "nothing queued, nothing to wake the program for";
  EXPECT_EQ(exporting.load(), 0) << "no export before one is due";

  processor.on_end(sampled_span());
  pollfd readable{due, POLLIN, 0};
  ASSERT_EQ(::poll(&readable, 1, 30000), 1) << "the due timer never fired";
  processor.start_due_exports();
  ASSERT_TRUE(processor.force_flush(30s));
  EXPECT_EQ(exported.load(), 1);
  EXPECT_FALSE(armed(due)) << "the export thread runs: the timer has nothing to do";
  readable.revents = 0;
  EXPECT_EQ(::poll(&readable, 1, 0), 0) << "start_due_exports() consumed the expiry";
  EXPECT_TRUE(processor.shutdown(30s));
}

TEST(BatchIdle, ProviderListsTheDueTimers) {
  std::atomic<int> exported{0};
  std::atomic<pid_t> exporting{0};
  BatchOptions options;
  options.thread_when_due = true;
  auto processor = std::make_shared<BatchSpanProcessor>(
      std::make_unique<CountingExporter>(exported, exporting), options);
  TracerProviderOptions provider_options;
  provider_options.processors.push_back(processor);
  TracerProvider provider(std::move(provider_options));
  EXPECT_EQ(provider.due_fds(), std::vector<int>{processor->due_fd()});
}

}  // namespace
}  // namespace wasmshim::otel
