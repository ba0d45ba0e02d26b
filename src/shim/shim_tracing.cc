#include "shim_tracing.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "small_files.h"
#include "wasmshim/otel/instrument.h"

#if WASMSHIM_OPENTELEMETRY
#include "wasmshim/otel/propagation.h"
#include "wasmshim/otel/session.h"
#include "wasmshim/otel/span_stream.h"
#endif

namespace wasmshim::shim {

#if WASMSHIM_OPENTELEMETRY

namespace {

otel::ResourceInfo resource_of(const ShimInfo& info) {
  return {"", info.version};
}

// containerd takes everything `start` prints, stderr included, as the
// shim's address, so `start` says nothing; the daemon it spawns reads the
// same variables and reports any problem once, in the shim log.
otel::DiagnosticLog silent() {
  return [](std::string_view) {};
}

// A provider that keeps its spans in memory, with no thread: the process
// may fork afterwards.
struct MemoryTracing {
  otel::OtlpConfig config;
  otel::InMemorySpanExporter* memory = nullptr;
  std::shared_ptr<otel::TracerProvider> provider;

  MemoryTracing(const std::optional<otel::OtlpConfig>& otlp, const ShimInfo& info) {
    config = otlp ? *otlp : otel::otlp_config_from_env().config;
    const bool otlp_wanted = std::find(config.exporters.begin(), config.exporters.end(),
                                       otel::TracesExporterKind::otlp) != config.exporters.end();
    if (!config.enabled || !otlp_wanted) {
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
  // containerd is waiting for) never waits for a collector. Call with one
  // thread and stdout already flushed.
  void export_in_background() {
    if (!provider) {
      return;
    }
    auto spans = memory->spans();
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
    auto exporter = otel::make_otlp_exporter(config, [](std::string_view) {});
    exporter->export_spans(spans, otel::Clock::now() + config.timeout);
    ::_exit(0);
  }
};

void set_common(otel::Span& span, const ShimFlags& flags) {
  span.set_attribute("container.id", flags.id);
  span.set_attribute("containerd.namespace", flags.namespace_name);
}

}  // namespace

struct StartTrace::State {
  int pipe_read = -1;
  int pipe_write = -1;
  std::unique_ptr<otel::TracingSession> session;
  std::unique_ptr<MemoryTracing> memory;
  otel::Span span;
  bool enabled = false;
};

StartTrace::StartTrace(const ShimFlags& flags, const ShimInfo& info,
                       const std::optional<otel::OtlpConfig>& otlp, bool spawning)
    : state_(std::make_unique<State>()) {
  otel::Tracer tracer;
  int fds[2] = {-1, -1};
  if (spawning && ::pipe2(fds, O_CLOEXEC) == 0) {
    // The daemon exports the span for us.
    state_->pipe_read = fds[0];
    state_->pipe_write = fds[1];
    otel::SessionOptions options{resource_of(info), otlp, silent(), fds[1],
                                 std::chrono::milliseconds(1000)};
    state_->session = std::make_unique<otel::TracingSession>(std::move(options));
    state_->enabled = state_->session->enabled() && state_->session->config().enabled;
    if (state_->enabled) {
      tracer = state_->session->provider()->tracer("wasmshim.shim");
    } else {
      // Its provider would stay installed in the daemon forked from here,
      // streaming every span the daemon makes to nowhere.
      state_->session.reset();
    }
  } else {
    // A running shim takes the task: the span leaves from a detached child.
    state_->memory = std::make_unique<MemoryTracing>(otlp, info);
    state_->enabled = state_->memory->provider != nullptr;
    if (state_->enabled) {
      tracer = state_->memory->provider->tracer("wasmshim.shim");
    }
  }
  if (!state_->enabled) {
    return;
  }
  state_->span = tracer.start_span("start_shim", {.parent = otel::context_from_environment()});
  set_common(state_->span, flags);
}

StartTrace::~StartTrace() {
  state_->span.end();
  if (state_->session) {
    state_->session->shutdown();
  }
  if (state_->memory) {
    std::fflush(stdout);
    state_->memory->export_in_background();
  }
  for (int fd : {state_->pipe_read, state_->pipe_write}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

std::vector<std::string> StartTrace::daemon_environment() const {
  if (!state_->enabled) {
    return {};
  }
  otel::Context context;
  context.span = state_->span.context();
  auto env = otel::environment_for(context);
  if (state_->pipe_read >= 0) {
    env.push_back("WASMSHIM_START_SPANS_FD=" + std::to_string(kStartSpansFd));
  }
  return env;
}

int StartTrace::daemon_span_fd() const {
  return state_->enabled ? state_->pipe_read : -1;
}

void StartTrace::spawned() {
  if (state_->pipe_read >= 0) {
    ::close(state_->pipe_read);
    state_->pipe_read = -1;
  }
}

void StartTrace::leave_to_daemon() {
  if (state_->pipe_write >= 0) {
    // Replaced, not closed: the session's exporter still holds the number.
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ::dup2(null, state_->pipe_write);
    ::close(null);
  }
  if (state_->pipe_read >= 0) {
    ::close(state_->pipe_read);  // the caller has moved its copy into place
  }
  // The daemon's session replaces the installed provider; this state (its
  // span still open) is never ended nor destroyed in the daemon.
  (void)state_.release();
}

void StartTrace::fail(const std::string& message) {
  state_->span.record_error(message);
}

struct DaemonTrace::State {
  std::unique_ptr<otel::TracingSession> session;
  otel::Span span;
  // `start`'s span stream, until it has been read.
  int start_spans = -1;
};

DaemonTrace::DaemonTrace(const ShimFlags& flags, const ShimInfo& info,
                         const std::optional<otel::OtlpConfig>& otlp,
                         const std::function<void(const std::string&)>& log)
    : state_(std::make_unique<State>()) {
  otel::SessionOptions options{resource_of(info), otlp,
                               [log](std::string_view line) { log(std::string(line)); }, -1,
                               std::chrono::milliseconds(30000)};
  state_->session = std::make_unique<otel::TracingSession>(std::move(options));
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before the daemon starts threads.
  const char* stream = std::getenv("WASMSHIM_START_SPANS_FD");
  if (!state_->session->enabled()) {
    if (stream != nullptr) {
      ::close(kStartSpansFd);
    }
    return;
  }
  state_->span = otel::global_tracer("wasmshim.shim")
                     .start_span("shim_main", {.parent = otel::context_from_environment()});
  set_common(state_->span, flags);
  state_->span.set_attribute("process.pid", static_cast<std::int64_t>(::getpid()));
  // `delete`, which containerd runs after this daemon has gone, continues
  // this trace from the bundle (the daemon's working directory).
  (void)write_small_file("wasmshim-traceparent", otel::format_traceparent(state_->span.context()));
  if (stream != nullptr) {
    ::fcntl(kStartSpansFd, F_SETFD, FD_CLOEXEC);
    state_->start_spans = kStartSpansFd;
  }
}

// `start` writes its span and exits; nothing it does waits for this
// process, so its end of the pipe closes within its short life. The stream
// is read once that end has closed (all of it is in the pipe then), from
// the daemon's main thread, which has nothing else to do; no thread waits
// on it.
void DaemonTrace::take_start_spans(std::chrono::milliseconds wait) {
  if (state_->start_spans < 0) {
    return;
  }
  // No events asked: poll reports the writer's close (POLLHUP) only, not
  // the data waiting before it.
  pollfd pipe_end{state_->start_spans, 0, 0};
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while ((pipe_end.revents & POLLHUP) == 0) {
    if ((pipe_end.revents & (POLLERR | POLLNVAL)) != 0) {
      ::close(state_->start_spans);
      state_->start_spans = -1;
      return;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return;  // still open: tried again at the end
    }
    if (::poll(&pipe_end, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      return;
    }
  }
  auto provider = state_->session->provider();
  otel::read_span_stream(state_->start_spans, [&](std::vector<otel::SpanData>&& spans) {
    for (auto& span : spans) {
      provider->submit(std::move(span));
    }
  });
  ::close(state_->start_spans);
  state_->start_spans = -1;
}

DaemonTrace::~DaemonTrace() {
  take_start_spans(std::chrono::seconds(1));
  if (state_->start_spans >= 0) {
    ::close(state_->start_spans);
  }
  state_->span.end();
  state_->session->shutdown();
}

std::string DaemonTrace::traceparent() const {
  return state_->span.context().valid() ? otel::format_traceparent(state_->span.context())
                                        : std::string();
}

// containerd runs `delete` after every shim exits and waits for it: its
// span leaves from a detached child, never delaying containerd.
struct DeleteTrace::State {
  std::unique_ptr<MemoryTracing> memory;
  otel::Span span;
};

DeleteTrace::DeleteTrace(const ShimFlags& flags, const ShimInfo& info,
                         const std::optional<otel::OtlpConfig>& otlp)
    : state_(std::make_unique<State>()) {
  state_->memory = std::make_unique<MemoryTracing>(otlp, info);
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
std::vector<std::string> StartTrace::daemon_environment() const {
  return {};
}
int StartTrace::daemon_span_fd() const {
  return -1;
}
void StartTrace::spawned() {}
void StartTrace::leave_to_daemon() {}
void StartTrace::fail(const std::string&) {}

struct DaemonTrace::State {};
DaemonTrace::DaemonTrace(const ShimFlags&, const ShimInfo&, const std::optional<otel::OtlpConfig>&,
                         const std::function<void(const std::string&)>&) {}
DaemonTrace::~DaemonTrace() = default;
void DaemonTrace::take_start_spans(std::chrono::milliseconds) {}
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
