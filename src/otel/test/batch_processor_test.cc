#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <optional>
#include <thread>

#include "support/log_lines.h"
#include "support/thread_waits.h"
#include "wasmshim/base/sanitizers.h"
#include "wasmshim/otel/processor.h"
#include "wasmshim/otel/tracer.h"

namespace wasmshim::otel {
namespace {

using namespace std::chrono_literals;

SpanData sampled_span(std::string name = "s") {
  SpanData span;
  span.name = std::move(name);
  span.context = {random_trace_id(), random_span_id(), kSampledFlag, {}, false};
  return span;
}

// Records batch sizes; can be told to hang until shutdown() (like a
// collector that accepts the connection and never answers), or to ignore
// even that.
class ScriptedExporter final : public SpanExporter {
 public:
  enum class Mode { deliver, hang_until_shutdown, hang_forever };
  explicit ScriptedExporter(Mode mode = Mode::deliver) : mode_(mode) {}

  ExportResult export_spans(std::span<const SpanData> spans, Clock::time_point) override {
    std::unique_lock lock(mutex_);
    batches_.push_back(spans.size());
    threads_.push_back(std::this_thread::get_id());
    changed_.notify_all();
    if (mode_ == Mode::hang_until_shutdown) {
      changed_.wait(lock, [&] { return shut_down_; });
      return ExportResult::failure;
    }
    if (mode_ == Mode::hang_forever) {
      changed_.wait(lock, [&] { return released_; });
      return ExportResult::failure;
    }
    return ExportResult::success;
  }
  void shutdown() override {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    changed_.notify_all();
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  std::vector<std::size_t> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  // The thread each batch was exported on.
  std::vector<std::thread::id> threads() {
    std::lock_guard lock(mutex_);
    return threads_;
  }
  bool wait_for_batches(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return batches_.size() >= count; });
  }

 private:
  Mode mode_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::size_t> batches_;
  std::vector<std::thread::id> threads_;
  bool shut_down_ = false;
  bool released_ = false;
};

using Logged = wasmshim::testing::LogLines;

TEST(BatchSpanProcessor, ExportsAFullBatchWithoutWaitingForTheDelay) {
  auto exporter = std::make_unique<ScriptedExporter>();
  auto* scripted = exporter.get();
  BatchSpanProcessor processor(std::move(exporter), {100, 60s, 5s, 10});
  for (int i = 0; i < 25; ++i) {
    processor.on_end(sampled_span());
  }
  ASSERT_TRUE(scripted->wait_for_batches(2, 10s));
  EXPECT_EQ(scripted->batches()[0], 10u);
  EXPECT_EQ(scripted->batches()[1], 10u);
  EXPECT_TRUE(processor.force_flush(10s));
  EXPECT_EQ(scripted->batches().size(), 3u);
  EXPECT_EQ(scripted->batches()[2], 5u);
  EXPECT_EQ(processor.stats().exported, 25u);
}

TEST(BatchSpanProcessor, ExportsAfterTheScheduleDelay) {
  auto exporter = std::make_unique<ScriptedExporter>();
  auto* scripted = exporter.get();
  BatchSpanProcessor processor(std::move(exporter), {100, 50ms, 5s, 50});
  processor.on_end(sampled_span());
  ASSERT_TRUE(scripted->wait_for_batches(1, 10s));
  EXPECT_EQ(scripted->batches()[0], 1u);
}

TEST(BatchSpanProcessor, SkipsUnsampledSpans) {
  auto exporter = std::make_unique<ScriptedExporter>();
  auto* scripted = exporter.get();
  BatchSpanProcessor processor(std::move(exporter), {});
  auto span = sampled_span();
  span.context.flags = 0;
  processor.on_end(std::move(span));
  EXPECT_TRUE(processor.force_flush(5s));
  EXPECT_TRUE(scripted->batches().empty());
  EXPECT_EQ(processor.stats().queued, 0u);
}

TEST(BatchSpanProcessor, FullQueueDropsCountsAndReports) {
  auto exporter = std::make_unique<ScriptedExporter>(ScriptedExporter::Mode::hang_until_shutdown);
  auto* scripted = exporter.get();
  Logged logged;
  BatchSpanProcessor processor(std::move(exporter), {4, 60s, 60s, 2}, logged.sink());
  processor.on_end(sampled_span());
  processor.on_end(sampled_span());
  ASSERT_TRUE(scripted->wait_for_batches(1, 10s));  // the exporter now holds 2
  for (int i = 0; i < 10; ++i) {
    processor.on_end(sampled_span());
  }
  EXPECT_EQ(processor.stats().dropped_queue_full, 6u);
  EXPECT_EQ(processor.stats().queued, 6u);
  processor.shutdown(300ms);
  EXPECT_TRUE(logged.contains("dropped 6 span(s): the export queue was full (4 spans"));
  auto stats = processor.stats();
  EXPECT_EQ(stats.dropped_export_failed + stats.dropped_at_shutdown, 6u);
}

TEST(BatchSpanProcessor, ShutdownKeepsItsDeadlineWithAHangingExporter) {
  auto exporter = std::make_unique<ScriptedExporter>(ScriptedExporter::Mode::hang_until_shutdown);
  auto* scripted = exporter.get();
  BatchSpanProcessor processor(std::move(exporter), {100, 10ms, 60s, 10});
  processor.on_end(sampled_span());
  ASSERT_TRUE(scripted->wait_for_batches(1, 10s));
  const auto start = Clock::now();
  EXPECT_FALSE(processor.shutdown(300ms));
  // A hang would never return; this only guards against that.
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_EQ(processor.stats().dropped_export_failed, 1u);
}

TEST(BatchSpanProcessor, ShutdownReturnsEvenIfTheExporterIgnoresIt) {
  auto exporter = std::make_unique<ScriptedExporter>(ScriptedExporter::Mode::hang_forever);
  auto* scripted = exporter.get();
  Logged logged;
  auto processor = std::make_unique<BatchSpanProcessor>(
      std::move(exporter), BatchOptions{100, 10ms, 60s, 10}, logged.sink());
  processor->on_end(sampled_span());
  ASSERT_TRUE(scripted->wait_for_batches(1, 10s));
  const auto start = Clock::now();
  EXPECT_FALSE(processor->shutdown(300ms));
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_TRUE(logged.contains("did not stop by the deadline"));
  processor.reset();
  scripted->release();  // the left-behind thread owns the exporter and ends now
}

TEST(BatchSpanProcessor, ShutdownExportsWhatIsQueued) {
  auto exporter = std::make_unique<ScriptedExporter>();
  auto* scripted = exporter.get();
  BatchSpanProcessor processor(std::move(exporter), {100, 60s, 5s, 50});
  for (int i = 0; i < 7; ++i) {
    processor.on_end(sampled_span());
  }
  EXPECT_TRUE(processor.shutdown(5s));
  EXPECT_EQ(scripted->batches(), std::vector<std::size_t>{7});
  processor.on_end(sampled_span());
  EXPECT_EQ(processor.stats().dropped_at_shutdown, 1u);
}

// thread_when_due: spans that fit one batch, in a process that ends before
// they are due, go at shutdown from the calling thread; no thread started.
TEST(BatchSpanProcessor, WhenDueAShutdownBeforeTheDelayExportsFromTheCallingThread) {
  auto exporter = std::make_unique<ScriptedExporter>();
  auto* scripted = exporter.get();
  BatchSpanProcessor processor(std::move(exporter), {100, 60s, 5s, 50, true});
  for (int i = 0; i < 7; ++i) {
    processor.on_end(sampled_span());
  }
  processor.start_due_exports();  // not due for a minute
  EXPECT_TRUE(scripted->batches().empty());
  EXPECT_TRUE(processor.shutdown(5s));
  EXPECT_EQ(scripted->batches(), std::vector<std::size_t>{7});
  EXPECT_EQ(scripted->threads(), std::vector<std::thread::id>{std::this_thread::get_id()});
  EXPECT_EQ(processor.stats().exported, 7U);
  processor.on_end(sampled_span());
  EXPECT_EQ(processor.stats().dropped_at_shutdown, 1U);
}

TEST(BatchSpanProcessor, WhenDueTheLoopStartsTheThreadOnceTheOldestSpanIsDue) {
  auto exporter = std::make_unique<ScriptedExporter>();
  auto* scripted = exporter.get();
  const std::size_t threads_before = wasmshim::testing::thread_ids().size();
  BatchSpanProcessor processor(std::move(exporter), {100, 20ms, 5s, 50, true});
  processor.on_end(sampled_span());
  // Due once the delay has passed since it ended (a lower bound: later is
  // as good).
  std::this_thread::sleep_until(std::chrono::steady_clock::now() + 20ms);
  // Nothing notices by itself: there is no thread that could.
  EXPECT_EQ(wasmshim::testing::thread_ids().size(), threads_before);
  EXPECT_TRUE(scripted->batches().empty());
  processor.start_due_exports();
  ASSERT_TRUE(scripted->wait_for_batches(1, 10s));
  EXPECT_EQ(scripted->batches()[0], 1U);
  EXPECT_NE(scripted->threads()[0], std::this_thread::get_id());
  // The thread, once started, keeps the schedule itself.
  processor.on_end(sampled_span());
  ASSERT_TRUE(scripted->wait_for_batches(2, 10s));
  EXPECT_TRUE(processor.shutdown(5s));
  EXPECT_EQ(processor.stats().exported, 2U);
}

TEST(BatchSpanProcessor, WhenDueAFullBatchOrAFlushStartsTheThread) {
  auto exporter = std::make_unique<ScriptedExporter>();
  auto* scripted = exporter.get();
  BatchSpanProcessor processor(std::move(exporter), {100, 60s, 5s, 10, true});
  for (int i = 0; i < 25; ++i) {
    processor.on_end(sampled_span());
  }
  ASSERT_TRUE(scripted->wait_for_batches(2, 10s));
  EXPECT_EQ(scripted->batches()[0], 10U);
  EXPECT_NE(scripted->threads()[0], std::this_thread::get_id());

  auto flushed_exporter = std::make_unique<ScriptedExporter>();
  auto* flushed = flushed_exporter.get();
  BatchSpanProcessor flushing(std::move(flushed_exporter), {100, 60s, 5s, 10, true});
  flushing.on_end(sampled_span());
  EXPECT_TRUE(flushing.force_flush(10s));
  EXPECT_EQ(flushed->batches(), std::vector<std::size_t>{1});
}

TEST(BatchSpanProcessor, ManyThreadsEndSpansAtOnce) {
  auto exporter = std::make_unique<InMemorySpanExporter>();
  auto* memory = exporter.get();
  BatchSpanProcessor processor(std::move(exporter), {100000, 5ms, 5s, 256});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        processor.on_end(sampled_span());
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_TRUE(processor.force_flush(10s));
  EXPECT_EQ(memory->spans().size(), 16000u);
}

// A child forked while other threads end spans and export must neither
// deadlock on the SDK's locks nor export the parent's spans, and must be
// able to trace on its own.
// Keeps only spans not named "parent-busy" (the parent's stream of spans
// would otherwise pile up by the million), behind a lock like a real one.
class FilteringExporter final : public SpanExporter {
 public:
  ExportResult export_spans(std::span<const SpanData> spans, Clock::time_point) override {
    std::lock_guard lock(mutex_);
    for (const auto& span : spans) {
      if (span.name != "parent-busy") {
        kept_.push_back(span.name);
      }
    }
    return ExportResult::success;
  }
  void shutdown() override {}
  void before_fork() override { mutex_.lock(); }
  void after_fork_in_parent() override { mutex_.unlock(); }
  void after_fork_in_child() override { mutex_.unlock(); }
  std::vector<std::string> kept() {
    std::lock_guard lock(mutex_);
    return kept_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> kept_;
};

// The child's wait status, or none (and the child killed) if it has not
// exited within the timeout: a deadlock in it.
std::optional<int> wait_for_child(pid_t child, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      return std::nullopt;
    }
    std::this_thread::sleep_for(10ms);
  }
  return status;
}

TEST(BatchSpanProcessor, ChildAfterForkTracesWithoutDeadlock) {
#if WASMSHIM_ASAN
  // Under AddressSanitizer (clang 14), which takes none of its own
  // allocator locks around fork, a child forked while other threads
  // allocate now and then never gets its export thread going (seen about
  // once in twenty runs on a loaded machine; never in the TSan or plain
  // builds, which run this test).
  GTEST_SKIP() << "fork while threads allocate is unreliable under AddressSanitizer";
#endif
  auto exporter = std::make_unique<FilteringExporter>();
  auto* memory = exporter.get();
  auto processor =
      std::make_shared<BatchSpanProcessor>(std::move(exporter), BatchOptions{4096, 1ms, 5s, 8});
  TracerProviderOptions options;
  options.processors.push_back(processor);
  TracerProvider provider(std::move(options));
  auto tracer = provider.tracer("fork-test");
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  for (int t = 0; t < 3; ++t) {
    busy.emplace_back([&] {
      while (!stop.load()) {
        tracer.start_span("parent-busy").end();
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      tracer.start_span("in-child").end();
      bool flushed = processor->force_flush(5s);
      auto kept = memory->kept();
      bool only_ours = kept.size() == 1 && kept[0] == "in-child";
      _exit(flushed && only_ours ? 0 : 1);
    }
    const auto status = wait_for_child(child, 10s);
    if (!status) {
      ADD_FAILURE() << "child " << round << " hung after fork";
      break;
    }
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << "round " << round << ": wait status " << *status;
  }
  stop = true;
  for (auto& thread : busy) {
    thread.join();
  }
  EXPECT_TRUE(provider.shutdown(5s));
}

// The parent's export thread is asleep on the processor's condition
// variable at the moment of fork. In the child that sleeper does not exist,
// yet the variable still counts it; glibc's signalling then waits for it to
// leave, forever, unless the child starts with fresh condition variables.
TEST(BatchSpanProcessor, ChildSignalsPastTheParentsSleepingExportThread) {
  auto exporter = std::make_unique<FilteringExporter>();
  auto* memory = exporter.get();
  const auto threads_before = wasmshim::testing::thread_ids();
  BatchSpanProcessor processor(std::move(exporter), BatchOptions{4096, 1h, 5s, 2});
  processor.on_end(sampled_span("parent-busy"));
  EXPECT_TRUE(processor.force_flush(5s));
  // The export thread (the one thread the processor started) now sleeps for
  // the hour-long schedule delay: fork only once it does.
  auto started = wasmshim::testing::thread_ids();
  std::erase_if(started, [&](pid_t id) {
    return std::find(threads_before.begin(), threads_before.end(), id) != threads_before.end();
  });
  ASSERT_EQ(started.size(), 1U);
  ASSERT_TRUE(wasmshim::testing::wait_until_in_condition_wait(started[0]));
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    bool flushed = true;
    for (int i = 0; i < 10; ++i) {
      processor.on_end(sampled_span("in-child"));
      processor.on_end(sampled_span("in-child"));
      flushed = processor.force_flush(2s) && flushed;
    }
    _exit(flushed && memory->kept().size() == 20 ? 0 : 1);
  }
  const auto status = wait_for_child(child, 10s);
  ASSERT_TRUE(status) << "the child hung signalling the processor";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

}  // namespace
}  // namespace wasmshim::otel
