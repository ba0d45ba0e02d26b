// The batch span processor: ending a span only queues it; one background
// thread exports in batches (with thread_when_due, started only once an
// export is due). Nothing ticks while nothing is queued: the thread sleeps
// until a span arrives, and the due timer is armed only while spans wait.
//
// Locking: State::mutex guards the queue and counters and is never held
// while exporting or logging. Fork: the prepare handler takes every live
// processor's mutex so no other thread holds it at the moment of fork; the
// child releases it, forgets the parent's export thread and its condition
// variables (see renew_after_fork), drops the parent's queued spans (the
// parent exports those) and starts a new thread on its first span.
#include <pthread.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "wasmshim/otel/processor.h"

namespace wasmshim::otel {

struct BatchSpanProcessor::State {
  ~State() {
    if (due_timer >= 0) {
      ::close(due_timer);
    }
  }

  std::unique_ptr<SpanExporter> exporter;
  BatchOptions options;
  DiagnosticLog log;

  std::mutex mutex;
  // Replaced in a forked child: see renew_after_fork.
  std::unique_ptr<std::condition_variable> wake_worker =
      std::make_unique<std::condition_variable>();
  std::unique_ptr<std::condition_variable> progress = std::make_unique<std::condition_variable>();
  std::deque<SpanData> queue;
  // When the queue last went from empty to not: its oldest span's age.
  Clock::time_point first_queued{};
  // Spans accepted into the queue, and spans whose export finished (either
  // way), ever: a flush waits for the second to reach the first.
  std::uint64_t accepted = 0;
  std::uint64_t finished = 0;
  std::uint64_t flush_target = 0;
  bool stopping = false;
  Clock::time_point stop_deadline{};
  bool worker_running = false;
  std::unique_ptr<std::thread> worker;
  BatchStats stats;
  // thread_when_due: a timerfd readable once the oldest span waiting is
  // schedule_delay old (armed only while spans wait and no thread runs).
  int due_timer = -1;
  std::uint64_t drops_reported = 0;
  Clock::time_point last_drop_report{};

  void start_worker_locked(const std::shared_ptr<State>& self);
  void set_due_timer_locked(bool armed) const;
  void renew_after_fork();
  void run();
  std::vector<SpanData> take_batch_locked();
  void count_export_locked(std::size_t count, ExportResult result);
  void export_queue_here(Clock::time_point deadline);
  void report_drops(bool final_report);
};

namespace {

// Every live processor, for the fork handlers.
std::mutex registry_mutex;
std::vector<BatchSpanProcessor::State*>& registry() {
  static std::vector<BatchSpanProcessor::State*> states;
  return states;
}

void prepare_fork() {
  registry_mutex.lock();
  for (auto* state : registry()) {
    // The export thread takes the exporter's lock only outside this one, so
    // this order cannot deadlock.
    state->mutex.lock();
    state->exporter->before_fork();
  }
}

void after_fork_in_parent() {
  for (auto* state : registry()) {
    state->exporter->after_fork_in_parent();
    state->mutex.unlock();
  }
  registry_mutex.unlock();
}

void after_fork_in_child() {
  for (auto* state : registry()) {
    state->renew_after_fork();
    state->exporter->after_fork_in_child();
    state->mutex.unlock();
  }
  registry_mutex.unlock();
}

void register_state(BatchSpanProcessor::State* state) {
  static const bool handlers = [] {
    pthread_atfork(prepare_fork, after_fork_in_parent, after_fork_in_child);
    return true;
  }();
  (void)handlers;
  std::lock_guard lock(registry_mutex);
  registry().push_back(state);
}

void unregister_state(BatchSpanProcessor::State* state) {
  std::lock_guard lock(registry_mutex);
  std::erase(registry(), state);
}

constexpr auto kDropReportInterval = std::chrono::seconds(10);

}  // namespace

void BatchSpanProcessor::State::start_worker_locked(const std::shared_ptr<State>& self) {
  set_due_timer_locked(false);
  worker_running = true;
  // The thread owns a reference, so a thread left behind by a shutdown that
  // gave up waiting never touches freed memory.
  worker = std::make_unique<std::thread>([self] { self->run(); });
}

// Armed: fires when the oldest queued span is schedule_delay old.
void BatchSpanProcessor::State::set_due_timer_locked(bool armed) const {
  if (due_timer < 0) {
    return;
  }
  itimerspec when{};
  if (armed) {
    // steady_clock is CLOCK_MONOTONIC; a zero time would disarm instead.
    const auto due = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         (first_queued + options.schedule_delay).time_since_epoch())
                         .count();
    when.it_value.tv_sec = static_cast<time_t>(due / 1000000000);
    when.it_value.tv_nsec = std::max<long>(static_cast<long>(due % 1000000000), 1);
  }
  ::timerfd_settime(due_timer, TFD_TIMER_ABSTIME, &when, nullptr);
}

// In a forked child, with the mutex held. The thread object and the
// condition variables describe the parent's export thread, which does not
// exist here: a condition variable it slept on still counts it as a waiter,
// and glibc's signalling would wait for it to leave, forever. Destroying them
// is undefined (and would wait too), so they are leaked and replaced.
void BatchSpanProcessor::State::renew_after_fork() {
  (void)worker.release();
  (void)wake_worker.release();
  (void)progress.release();
  wake_worker = std::make_unique<std::condition_variable>();
  progress = std::make_unique<std::condition_variable>();
  worker_running = false;
  stats.queued -= queue.size();
  queue.clear();
  finished = accepted;
  if (due_timer >= 0) {
    // The parent's: this process gets a timer of its own.
    ::close(due_timer);
    due_timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  }
}

void BatchSpanProcessor::State::run() {
  std::unique_lock lock(mutex);
  // A batch leaves schedule_delay after the previous export, or after its
  // oldest span arrived in an empty queue (started when due: at once).
  auto next_export = first_queued + options.schedule_delay;
  const auto urgent = [&] {
    return stopping || queue.size() >= options.max_export_batch_size || flush_target > finished;
  };
  while (true) {
    if (queue.empty() && !urgent()) {
      // Nothing to export: asleep until a span, a flush or a shutdown.
      wake_worker->wait(lock, [&] { return !queue.empty() || urgent(); });
      next_export = std::max(next_export, first_queued + options.schedule_delay);
      continue;
    }
    wake_worker->wait_until(lock, stopping ? stop_deadline : next_export, urgent);
    const auto now = Clock::now();
    if (stopping && (queue.empty() || now >= stop_deadline)) {
      break;
    }
    const bool due = now >= next_export || stopping || flush_target > finished ||
                     queue.size() >= options.max_export_batch_size;
    if (queue.empty() || !due) {
      continue;
    }
    std::vector<SpanData> batch = take_batch_locked();
    auto deadline = now + options.export_timeout;
    if (stopping) {
      deadline = std::min(deadline, stop_deadline);
    }
    lock.unlock();
    const ExportResult result = exporter->export_spans(batch, deadline);
    report_drops(false);
    lock.lock();
    count_export_locked(batch.size(), result);
    if (queue.size() < options.max_export_batch_size) {
      next_export = Clock::now() + options.schedule_delay;
    }
  }
  stats.dropped_at_shutdown += queue.size();
  finished += queue.size();
  queue.clear();
  worker_running = false;
  progress->notify_all();
}

std::vector<SpanData> BatchSpanProcessor::State::take_batch_locked() {
  const std::size_t count = std::min(queue.size(), options.max_export_batch_size);
  std::vector<SpanData> batch;
  batch.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    batch.push_back(std::move(queue.front()));
    queue.pop_front();
  }
  return batch;
}

void BatchSpanProcessor::State::count_export_locked(std::size_t count, ExportResult result) {
  finished += count;
  if (result == ExportResult::success) {
    stats.exported += count;
  } else {
    stats.dropped_export_failed += count;
  }
  progress->notify_all();
}

// A shutdown with no export thread (thread_when_due, nothing due yet): what
// is queued goes from the calling thread, batch by batch, until `deadline`.
// Nothing else exports meanwhile: `stopping` keeps a thread from starting.
void BatchSpanProcessor::State::export_queue_here(Clock::time_point deadline) {
  std::unique_lock lock(mutex);
  while (!queue.empty() && Clock::now() < deadline) {
    std::vector<SpanData> batch = take_batch_locked();
    lock.unlock();
    const ExportResult result = exporter->export_spans(batch, deadline);
    lock.lock();
    count_export_locked(batch.size(), result);
  }
  stats.dropped_at_shutdown += queue.size();
  finished += queue.size();
  queue.clear();
}

// Drops are counted always and logged at most every ten seconds.
void BatchSpanProcessor::State::report_drops(bool final_report) {
  std::uint64_t dropped = 0;
  {
    std::lock_guard lock(mutex);
    const auto now = Clock::now();
    if (stats.dropped_queue_full == drops_reported ||
        (!final_report && now - last_drop_report < kDropReportInterval)) {
      return;
    }
    dropped = stats.dropped_queue_full - drops_reported;
    drops_reported = stats.dropped_queue_full;
    last_drop_report = now;
  }
  log("dropped " + std::to_string(dropped) + " span(s): the export queue was full (" +
      std::to_string(options.max_queue_size) + " spans, OTEL_BSP_MAX_QUEUE_SIZE)");
}

BatchSpanProcessor::BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter, BatchOptions options,
                                       DiagnosticLog log)
    : state_(std::make_shared<State>()) {
  if (options.max_export_batch_size == 0) {
    options.max_export_batch_size = 1;
  }
  options.max_queue_size = std::max<std::size_t>(options.max_queue_size, 1);
  // The spec: a batch larger than the queue is clamped to the queue.
  options.max_export_batch_size = std::min(options.max_export_batch_size, options.max_queue_size);
  state_->exporter = std::move(exporter);
  state_->options = options;
  state_->log = log ? std::move(log) : stderr_diagnostic_log();
  if (options.thread_when_due) {
    state_->due_timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  }
  register_state(state_.get());
  if (!options.thread_when_due) {
    std::lock_guard lock(state_->mutex);
    state_->start_worker_locked(state_);
  }
}

BatchSpanProcessor::~BatchSpanProcessor() {
  shutdown(std::chrono::seconds(5));
  unregister_state(state_.get());
}

void BatchSpanProcessor::on_end(SpanData&& span) {
  if (!span.context.sampled()) {
    return;
  }
  std::lock_guard lock(state_->mutex);
  if (state_->stopping) {
    ++state_->stats.dropped_at_shutdown;
    return;
  }
  if (state_->queue.size() >= state_->options.max_queue_size) {
    ++state_->stats.dropped_queue_full;
    return;
  }
  const bool was_empty = state_->queue.empty();
  if (was_empty) {
    state_->first_queued = Clock::now();
  }
  state_->queue.push_back(std::move(span));
  ++state_->accepted;
  ++state_->stats.queued;
  const bool batch_full = state_->queue.size() >= state_->options.max_export_batch_size;
  if (!state_->worker_running) {
    // A forked child's first span, or (thread_when_due) a full batch.
    if (!state_->options.thread_when_due || batch_full) {
      state_->start_worker_locked(state_);
    } else if (was_empty) {
      state_->set_due_timer_locked(true);
    }
  } else if (was_empty || state_->queue.size() == state_->options.max_export_batch_size) {
    // The thread sleeps without a timeout while the queue is empty.
    state_->wake_worker->notify_one();
  }
}

void BatchSpanProcessor::start_due_exports() {
  std::lock_guard lock(state_->mutex);
  if (state_->due_timer >= 0) {
    std::uint64_t expirations = 0;
    (void)!::read(state_->due_timer, &expirations, sizeof expirations);
  }
  if (!state_->worker_running && !state_->stopping && !state_->queue.empty() &&
      Clock::now() - state_->first_queued >= state_->options.schedule_delay) {
    state_->start_worker_locked(state_);
  }
}

bool BatchSpanProcessor::force_flush(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(state_->mutex);
  if (!state_->worker_running) {
    if (state_->queue.empty() || state_->stopping) {
      return state_->queue.empty();
    }
    state_->start_worker_locked(state_);  // (thread_when_due) a flush is due now
  }
  const std::uint64_t target = state_->accepted;
  state_->flush_target = std::max(state_->flush_target, target);
  state_->wake_worker->notify_one();
  return state_->progress->wait_until(lock, deadline, [&] { return state_->finished >= target; });
}

bool BatchSpanProcessor::shutdown(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_ptr<std::thread> worker;
  bool finished_in_time = false;
  bool export_here = false;
  std::uint64_t failed_before = 0;
  {
    std::unique_lock lock(state_->mutex);
    if (state_->stopping) {
      return true;
    }
    failed_before = state_->stats.dropped_export_failed;
    state_->stopping = true;
    state_->set_due_timer_locked(false);
    export_here = !state_->worker_running;
    if (!export_here) {
      // Keep a little of the deadline to abort a stuck export and join.
      const auto margin = std::min<Clock::duration>(timeout / 10, std::chrono::milliseconds(200));
      state_->stop_deadline = deadline - margin;
      state_->wake_worker->notify_one();
      finished_in_time = state_->progress->wait_until(lock, state_->stop_deadline,
                                                      [&] { return !state_->worker_running; });
      worker = std::move(state_->worker);
    }
  }
  if (export_here) {
    // The exporter keeps the deadline itself.
    state_->export_queue_here(deadline);
    finished_in_time = true;
  } else if (!finished_in_time) {
    // An exporter still in flight past its deadline: make it give up.
    state_->exporter->shutdown();
    std::unique_lock lock(state_->mutex);
    finished_in_time =
        state_->progress->wait_until(lock, deadline, [&] { return !state_->worker_running; });
  }
  if (worker) {
    if (finished_in_time) {
      worker->join();
    } else {
      // It owns its state; leaving it is safe and keeps our deadline.
      worker->detach();
      state_->log("shutdown: the exporter did not stop by the deadline; left it running");
    }
  }
  state_->exporter->shutdown();
  state_->report_drops(true);
  const BatchStats stats = this->stats();
  if (stats.dropped_export_failed + stats.dropped_at_shutdown > 0) {
    state_->log("shutdown: " + std::to_string(stats.exported) + " span(s) exported, " +
                std::to_string(stats.dropped_export_failed) + " lost to failed exports, " +
                std::to_string(stats.dropped_at_shutdown) + " still queued at the deadline");
  }
  // Success means everything queued was delivered in time.
  return finished_in_time && stats.dropped_at_shutdown == 0 &&
         stats.dropped_export_failed == failed_before;
}

int BatchSpanProcessor::due_fd() const {
  return state_->due_timer;
}

BatchStats BatchSpanProcessor::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

}  // namespace wasmshim::otel
