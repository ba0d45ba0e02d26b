#include "shim_tracing.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "export_slots.h"
#include "small_files.h"
#include "wasmshim/base/sanitizers.h"
#include "wasmshim/container/command_line.h"
#include "wasmshim/otel/instrument.h"

#if WASMSHIM_OPENTELEMETRY
#include "wasmshim/otel/propagation.h"
#include "wasmshim/otel/session.h"
#endif

namespace wasmshim::shim {

#if WASMSHIM_OPENTELEMETRY

namespace {

// An exporter that lingers after its task gets `limit` in all: its export
// ends a little before, so it can give up and exit by itself, and at
// `limit` the process is ended whatever it waits on.
std::chrono::milliseconds export_deadline_within(std::chrono::milliseconds limit) {
  return limit - std::min(limit / 10, std::chrono::milliseconds(200));
}

otel::ResourceInfo resource_of(const ShimInfo& info) {
  return {"", info.version};
}

bool otlp_wanted(const otel::OtlpConfig& config) {
  return std::find(config.exporters.begin(), config.exporters.end(),
                   otel::TracesExporterKind::otlp) != config.exporters.end();
}

// Problems with the variables go unsaid by `start` and `delete`: containerd
// takes all `start` prints as the address, and the daemon reports them, in
// the shim log.
otel::OtlpConfigResult read_config(const std::optional<otel::OtlpConfig>& otlp) {
  if (otlp) {
    return {*otlp, {}};
  }
  return otel::otlp_config_from_env();
}

// A provider that keeps its spans in memory, with no thread: the process
// may fork afterwards.
struct MemoryTracing {
  otel::OtlpConfig config;
  otel::InMemorySpanExporter* memory = nullptr;
  std::shared_ptr<otel::TracerProvider> provider;
  bool exportable = false;  // OTLP is among the configured exporters

  // The spans leave through export_in_background or export_here_first,
  // which speak OTLP only: no provider unless OTLP is among the exporters.
  MemoryTracing(otel::OtlpConfig config_read, const ShimInfo& info)
      : config(std::move(config_read)) {
    exportable = otlp_wanted(config);
    if (!config.enabled || !exportable) {
      return;
    }
    auto exporter = std::make_unique<otel::InMemorySpanExporter>();
    memory = exporter.get();
    otel::TracerProviderOptions options;
    options.sampler = otel::make_sampler(config);
    options.resource = otel::make_resource(config, resource_of(info));
    options.limits = config.limits;
    options.processors.push_back(std::make_shared<otel::SimpleSpanProcessor>(std::move(exporter)));
    provider = std::make_shared<otel::TracerProvider>(std::move(options));
  }

  // Exports what was recorded from a detached child, so this process (which
  // containerd is waiting for) never waits for a collector, not even a
  // healthy one's millisecond: a dead or silent one would cost its timeout.
  // Call with one thread and stdout already flushed.
  void export_in_background() {
    if (provider && exportable) {
      fork_exporter(memory->spans());
    }
  }

 private:
  void fork_exporter(const std::vector<otel::SpanData>& spans) const {
    if (spans.empty()) {
      return;
    }
    const pid_t child = ::fork();
    if (child != 0) {
      return;
    }
    ::setsid();
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; ++fd) {
      ::dup2(null, fd);
    }
    show_as_exporter();
    const ExportSlots slots = export_slots_from_env();
    const ExportSlot slot = take_export_slot(slots);
    const auto limit = export_wait(slots, slot, config.timeout);
    end_process_after(limit);
    auto exporter = otel::make_otlp_exporter(config, [](std::string_view) {});
    const auto result =
        exporter->export_spans(spans, otel::Clock::now() + export_deadline_within(limit));
    if (result != otel::ExportResult::success && !slot.held()) {
      count_dropped_export(slots);
    }
    ::_exit(0);
  }

  // What ps shows: the command containerd ran, with "export" for its last
  // word ("start" or "delete").
  static void show_as_exporter() {
    std::vector<std::string> shown = container::command_line();
    if (!shown.empty()) {
      shown.back() = "export";
      container::set_command_line(shown);
    }
  }
};

void set_common(otel::Span& span, const ShimFlags& flags) {
  span.set_attribute("container.id", flags.id);
  span.set_attribute("containerd.namespace", flags.namespace_name);
}

}  // namespace

// With a daemon to spawn, `start` notes when start_shim began and nothing
// more: the daemon, forked with a copy of that note, records the span (in
// its own provider, which it builds anyway), ends it once `start` has exited
// (its end of a pipe closes) and exports it with its own spans. A provider
// built here would be built twice, and its allocations would be in the heap
// every process forked from this one (the daemon, its zygote, each
// container) copies page by page as it writes.
struct StartTrace::State {
  const ShimFlags* flags = nullptr;
  ShimInfo info;  // a copy: callers pass temporaries
  otel::OtlpConfig config;
  // What was wrong with the variables (and so turned tracing off).
  std::vector<std::string> config_errors;
  bool enabled = false;
  std::int64_t start_unix_nano = 0;
  std::string failure;
  // `start`'s exit, as the daemon sees it: the write end closes.
  int pipe_read = -1;
  int pipe_write = -1;
  // Set when start_shim is recorded in this process: no daemon to take it
  // (a running shim takes the task, or the pipe could not be made), or the
  // spawn failed.
  std::unique_ptr<MemoryTracing> memory;
  otel::Span span;
  bool spawned = false;  // in `start`, after the fork: the daemon has the span
  // In the daemon: `start`'s exit pipe sits at kStartExitFd. What the daemon
  // needs of `start` it finds here, in its copy of this memory, rather than
  // in variables set in its environment (which every container would then
  // inherit).
  bool daemon_has_pipe = false;

  void record_here() {
    memory = std::make_unique<MemoryTracing>(config, info);
    if (memory->provider) {
      span = memory->provider->tracer("wasmshim.shim")
                 .start_span("start_shim", {.parent = otel::context_from_environment(),
                                            .start_unix_nano = start_unix_nano});
      set_common(span, *flags);
    }
  }
};

StartTrace::StartTrace(const ShimFlags& flags, const ShimInfo& info,
                       const std::optional<otel::OtlpConfig>& otlp, bool spawning)
    : state_(std::make_unique<State>()) {
  state_->flags = &flags;
  state_->info = info;
  state_->start_unix_nano = otel::now_unix_nano();
  int fds[2] = {-1, -1};
  const bool to_daemon = spawning && ::pipe2(fds, O_CLOEXEC) == 0;
  state_->pipe_read = fds[0];
  state_->pipe_write = fds[1];
  auto read = read_config(otlp);
  state_->config = std::move(read.config);
  state_->config_errors = std::move(read.errors);
  if (to_daemon) {
    state_->enabled = state_->config.enabled;
    return;
  }
  // Recorded now, so a daemon spawned without the pipe still finds its
  // parent's context in its copy; the span leaves from a detached child.
  state_->record_here();
  state_->enabled = state_->span.context().valid();
}

StartTrace::~StartTrace() {
  for (int fd : {state_->pipe_read, state_->pipe_write}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  if (state_->spawned) {
    // The daemon records and exports the span. This process is about to
    // exit: destroying the state would only write pages the daemon shares.
    base::keep_until_exit(state_.release());
    return;
  }
  if (!state_->enabled) {
    return;
  }
  if (!state_->memory) {
    state_->record_here();  // the spawn failed: nobody else will
  }
  if (!state_->failure.empty()) {
    state_->span.record_error(state_->failure);
  }
  state_->span.end();
  std::fflush(stdout);
  state_->memory->export_in_background();
}

int StartTrace::start_exit_fd() const {
  return state_->enabled ? state_->pipe_read : -1;
}

void StartTrace::spawned() {
  if (state_->pipe_read >= 0) {
    ::close(state_->pipe_read);
    state_->pipe_read = -1;
    state_->spawned = state_->enabled;
  }
}

void StartTrace::leave_to_daemon() {
  state_->daemon_has_pipe = state_->enabled && state_->pipe_read >= 0;
  // The daemon must not hold `start`'s end, or it would never see it close.
  for (int* fd : {&state_->pipe_read, &state_->pipe_write}) {
    if (*fd >= 0) {
      ::close(*fd);  // the caller has moved its copy of the read end into place
      *fd = -1;
    }
  }
}

void StartTrace::fail(const std::string& message) {
  state_->failure = message;
}

struct DaemonTrace::State {
  std::unique_ptr<otel::TracingSession> session;
  std::function<void(const std::string&)> log;
  // start_shim, from when `start` began until it exits.
  otel::Span start_span;
  otel::Span span;
  // The read end of the pipe whose write end `start` holds until it exits.
  int start_exit = -1;
};

DaemonTrace::DaemonTrace(const ShimFlags& flags, const ShimInfo& info,
                         const std::optional<otel::OtlpConfig>& otlp,
                         const std::function<void(const std::string&)>& log, StartTrace* start)
    : state_(std::make_unique<State>()) {
  state_->log = log;
  // The daemon's main loop starts due exports: a task that ends
  // within the schedule delay is exported at shutdown, from the main thread,
  // and no export thread is ever started for it.
  otel::SessionOptions options;
  options.resource = resource_of(info);
  options.config = otlp;
  options.log = [log](std::string_view line) { log(std::string(line)); };
  // The final export's limit is set at shutdown (see ~DaemonTrace).
  options.thread_when_due = true;
  // Forked from `start`: its copy of the configuration serves as it is,
  // rather than the environment read and parsed again.
  const StartTrace::State* from_start = start != nullptr ? start->state_.get() : nullptr;
  if (from_start != nullptr) {
    options.config = from_start->config;
    options.config_errors = from_start->config_errors;
  }
  state_->session = std::make_unique<otel::TracingSession>(std::move(options));
  const bool has_pipe = from_start != nullptr && from_start->daemon_has_pipe;
  if (!state_->session->enabled()) {
    if (has_pipe) {
      ::close(kStartExitFd);
    }
    return;
  }
  // A bad WASMSHIM_EXPORT_SLOTS is said once per shim, in its log.
  std::string slots_problem;
  (void)export_slots_from_env(&slots_problem);
  if (!slots_problem.empty() && log) {
    log("tracing: " + slots_problem);
  }
  // containerd's context, in the environment `start` had and this process
  // kept.
  otel::Context parent = otel::context_from_environment();
  const auto tracer = otel::global_tracer("wasmshim.shim");
  if (has_pipe) {
    state_->start_span = tracer.start_span(
        "start_shim", {.parent = parent, .start_unix_nano = from_start->start_unix_nano});
    set_common(state_->start_span, flags);
    parent.span = state_->start_span.context();
  } else if (from_start != nullptr && from_start->enabled) {
    parent.span = from_start->span.context();  // recorded and exported by `start`
  }
  state_->span = tracer.start_span("shim_main", {.parent = parent});
  set_common(state_->span, flags);
  state_->span.set_attribute("process.pid", static_cast<std::int64_t>(::getpid()));
  // `delete`, which containerd runs after this daemon has gone, continues
  // this trace from the bundle (the daemon's working directory).
  (void)write_file("wasmshim-traceparent", otel::format_traceparent(state_->span.context()));
  if (has_pipe) {
    ::fcntl(kStartExitFd, F_SETFD, FD_CLOEXEC);
    state_->start_exit = kStartExitFd;
  }
}

// `start` prints the address and exits; nothing it does waits for this
// process, so its end of the pipe closes within its short life. The
// daemon's main thread, which has nothing else to do, waits for that; no
// thread is spent on it.
void DaemonTrace::take_start_span(std::chrono::milliseconds wait) {
  if (state_->start_exit < 0) {
    return;
  }
  // No events asked: poll reports the writer's close (POLLHUP) only.
  pollfd pipe_end{state_->start_exit, 0, 0};
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while ((pipe_end.revents & (POLLHUP | POLLERR | POLLNVAL)) == 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return;  // still running: tried again at the end
    }
    if (::poll(&pipe_end, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      break;
    }
  }
  end_start_span();
}

void DaemonTrace::end_start_span() {
  state_->start_span.end();
  if (state_->start_exit >= 0) {
    ::close(state_->start_exit);
    state_->start_exit = -1;
  }
}

DaemonTrace::~DaemonTrace() {
  take_start_span(std::chrono::seconds(1));
  // A `start` still running ends its span with this daemon's, rather than
  // losing it.
  end_start_span();
  state_->span.end();
  if (!state_->session->enabled()) {
    return;
  }
  // The task is over and containerd no longer waits for this process: it
  // may wait on the collector for the export timeout while it holds a slot,
  // else for the grace, and is ended at that limit whatever it waits on.
  const ExportSlots slots = export_slots_from_env();
  const ExportSlot slot = take_export_slot(slots);
  const auto limit = export_wait(slots, slot, state_->session->config().timeout);
  end_process_after(limit);
  const bool sent = state_->session->shutdown(export_deadline_within(limit));
  if (!sent && !slot.held()) {
    count_dropped_export(slots);
    if (state_->log) {
      state_->log("tracing: spans not sent within " + std::to_string(limit.count()) +
                  " ms were dropped: all " + std::to_string(slots.count) +
                  " export slots of the node are held by lingering exporters (" + slots.directory +
                  ")");
    }
  }
}

void DaemonTrace::start_due_exports() {
  state_->session->start_due_exports();
}

std::vector<int> DaemonTrace::export_due_fds() const {
  return state_->session->due_fds();
}

std::string DaemonTrace::traceparent() const {
  return state_->span.context().valid() ? otel::format_traceparent(state_->span.context())
                                        : std::string();
}

// containerd runs `delete` after every shim exits and waits for it: its
// span leaves from a detached child. The daemon that could take it has
// usually exited by then (and after a crash there is none), so a hand-over
// would need this fork as its fallback anyway.
struct DeleteTrace::State {
  std::unique_ptr<MemoryTracing> memory;
  otel::Span span;
};

DeleteTrace::DeleteTrace(const ShimFlags& flags, const ShimInfo& info,
                         const std::optional<otel::OtlpConfig>& otlp)
    : state_(std::make_unique<State>()) {
  state_->memory = std::make_unique<MemoryTracing>(read_config(otlp).config, info);
  if (state_->memory->provider) {
    otel::Context parent = otel::context_from_environment();
    const std::string traceparent = read_first_line(
        (flags.bundle.empty() ? std::string(".") : flags.bundle) + "/wasmshim-traceparent");
    if (auto span = otel::parse_traceparent(traceparent)) {
      parent.span = *span;
    }
    state_->span = state_->memory->provider->tracer("wasmshim.shim")
                       .start_span("delete_shim", {.parent = parent});
    set_common(state_->span, flags);
  }
}

DeleteTrace::~DeleteTrace() {
  state_->span.end();
  std::fflush(stdout);
  state_->memory->export_in_background();
}

void DeleteTrace::set_exit(std::uint32_t status) {
  state_->span.set_attribute("exit_code", static_cast<std::int64_t>(status));
}

#else

struct StartTrace::State {};
StartTrace::StartTrace(const ShimFlags&, const ShimInfo&, const std::optional<otel::OtlpConfig>&,
                       bool) {}
StartTrace::~StartTrace() = default;
int StartTrace::start_exit_fd() const {
  return -1;
}
void StartTrace::spawned() {}
void StartTrace::leave_to_daemon() {}
void StartTrace::fail(const std::string&) {}

struct DaemonTrace::State {};
DaemonTrace::DaemonTrace(const ShimFlags&, const ShimInfo&, const std::optional<otel::OtlpConfig>&,
                         const std::function<void(const std::string&)>&, StartTrace*) {}
DaemonTrace::~DaemonTrace() = default;
void DaemonTrace::take_start_span(std::chrono::milliseconds) {}
void DaemonTrace::start_due_exports() {}
std::vector<int> DaemonTrace::export_due_fds() const {
  return {};
}
void DaemonTrace::end_start_span() {}

std::string DaemonTrace::traceparent() const {
  return {};
}

struct DeleteTrace::State {};
DeleteTrace::DeleteTrace(const ShimFlags&, const ShimInfo&,
                         const std::optional<otel::OtlpConfig>&) {}
DeleteTrace::~DeleteTrace() = default;
void DeleteTrace::set_exit(std::uint32_t) {}

#endif

}  // namespace wasmshim::shim
