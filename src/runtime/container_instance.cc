#include "wasmshim/runtime/container_instance.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

#include "container_process.h"
#include "exec_process.h"
#include "shim_child.h"
#include "wasmshim/container/setup.h"
#include "wasmshim/container/spawn.h"
#include "wasmshim/otel/instrument.h"
#include "wasmshim/shim/environment.h"
#include "wasmshim/ttrpc/status.h"
#include "wasmshim/wasm/engine.h"

#if WASMSHIM_OPENTELEMETRY
#include "wasmshim/otel/session.h"
#include "wasmshim/otel/span_stream.h"
#endif

namespace wasmshim::runtime {
namespace {

// How often a waiting shim takes the spans a running container has ended,
// where it cannot be told of each write (see open_span_file).
constexpr std::chrono::milliseconds kSpanPickup{1000};

#if WASMSHIM_OPENTELEMETRY
// The file a container writes its spans to: unnamed and in memory, gone
// with its last descriptor. On tmpfs (/dev/shm), inotify reports each
// write, so the shim sleeps until the container ends a span; a memfd,
// where there is no such tmpfs, reports nothing.
int open_span_file() {
  // O_EXCL: it can never be given a name.
  const int fd = ::open("/dev/shm", O_TMPFILE | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  return fd >= 0 ? fd : ::memfd_create("wasmshim-spans", MFD_CLOEXEC);
}

// An inotify descriptor readable after each write to `file`; invalid when
// the file cannot be watched.
base::UniqueFd watch_writes(int file) {
  base::UniqueFd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  const std::string path = "/proc/self/fd/" + std::to_string(file);
  if (watch.valid() && ::inotify_add_watch(watch.get(), path.c_str(), IN_MODIFY) < 0) {
    watch.reset();
  }
  return watch;
}
#endif

using ttrpc::StatusCode;
using ttrpc::StatusError;

// The program must be there and be Wasm or native; anything else is named.
ContainerProgram check_program(const container::OciSpec& spec) {
  try {
    return find_program(spec.root_path, spec.process.args[0], spec.process.cwd, spec.process.env);
  } catch (const ProgramError& e) {
    throw StatusError(e.missing() ? StatusCode::kNotFound : StatusCode::kInvalidArgument, e.what());
  }
}

// What the spec asks that wasmshim cannot give is refused at Create, with
// the field at fault, so it never surfaces as a failed Start.
void check_isolation(const container::OciSpec& spec, ProgramKind kind) {
  try {
    container::check_apparmor_profile(spec.process);
  } catch (const container::ContainerSetupError& e) {
    throw StatusError(StatusCode::kInvalidArgument, std::string("config.json: ") + e.what());
  }
  if (!spec.process.selinux_label.empty()) {
    throw StatusError(StatusCode::kInvalidArgument,
                      "config.json: process.selinuxLabel \"" + spec.process.selinux_label +
                          "\" is set, but wasmshim does not apply SELinux labels");
  }
  if (!spec.linux) {
    return;
  }
  if (container::find_namespace(spec, "user") != nullptr) {
    throw StatusError(StatusCode::kInvalidArgument,
                      "config.json: linux.namespaces asks for a user namespace, which wasmshim "
                      "does not support");
  }
  if (!spec.hostname.empty() && container::find_namespace(spec, "uts") == nullptr) {
    throw StatusError(StatusCode::kInvalidArgument,
                      "config.json: hostname is set but linux.namespaces has no uts namespace: "
                      "it would rename the host");
  }
  if (spec.linux->seccomp) {
    try {
      if (kind == ProgramKind::wasm) {
        container::check_seccomp(*spec.linux->seccomp);
      } else {
        container::check_native_seccomp(*spec.linux->seccomp);
      }
    } catch (const container::ContainerSetupError& e) {
      throw StatusError(StatusCode::kInvalidArgument, std::string("config.json: ") + e.what());
    }
  }
}

}  // namespace

int ContainerInstance::container_main(int argc, char** argv) {
  auto launch = argc >= 2 && std::string_view(argv[1]) == kContainerModeFlag
                    ? ContainerLaunch::parse(argc - 2, argv + 2)
                    : std::nullopt;
  if (!launch) {
    std::fprintf(stderr,
                 "wasmshim container: started without %s MODE BUNDLE STDIN STDOUT STDERR "
                 "PROGRAM\n",
                 kContainerModeFlag);
    return kCannotRun;
  }
  switch (launch->mode) {
    case LaunchMode::wasm:
      return run_wasm_container(*launch);
    case LaunchMode::native:
      return run_native_container(*launch);
    case LaunchMode::exec:
      return run_exec_process(*launch);
  }
  return kCannotRun;
}

ContainerInstance::ContainerInstance(shim::InstanceConfig config, container::OciSpec spec,
                                     ContainerProgram program)
    : config_(std::move(config)),
      spec_(std::move(spec)),
      program_(std::move(program)),
      child_(std::make_unique<ShimChild>()) {}

std::unique_ptr<ContainerInstance> ContainerInstance::create(const shim::InstanceConfig& config) {
  container::OciSpec spec;
  try {
    spec = container::load_oci_spec(config.bundle);
  } catch (const container::OciSpecError& e) {
    throw StatusError(StatusCode::kInvalidArgument, e.what());
  }
  if (spec.process.terminal) {
    throw StatusError(StatusCode::kInvalidArgument,
                      "config.json asks for a terminal (process.terminal), which wasmshim does "
                      "not support: run the task without one");
  }
  ContainerProgram program = check_program(spec);
  check_isolation(spec, program.kind);
  std::unique_ptr<ContainerInstance> instance(
      new ContainerInstance(config, std::move(spec), std::move(program)));
  instance->make_cgroup();
  return instance;
}

void ContainerInstance::make_cgroup() {
  if (!spec_.linux) {
    return;
  }
  trace::ScopedSpan span("wasmshim.container", "container.cgroup");
  static const container::CgroupLayout layout = container::CgroupLayout::detect();
  span.set("cgroup.version", static_cast<std::int64_t>(layout.version))
      .set("cgroup.path", spec_.linux->cgroups_path);
  try {
    cgroup_ = container::Cgroup::create(layout, spec_.linux->cgroups_path, spec_.linux->resources,
                                        config_.namespace_name + "-" + config_.id);
  } catch (const container::CgroupError& e) {
    span.fail(e.what());
    throw StatusError(StatusCode::kFailedPrecondition, e.what());
  }
}

std::optional<container::CgroupStats> ContainerInstance::stats() {
  if (!cgroup_ || cgroup_->empty()) {
    return std::nullopt;
  }
  return cgroup_->stats();
}

ContainerInstance::~ContainerInstance() {
  remove();
}

#if WASMSHIM_OPENTELEMETRY
struct ContainerInstance::SpanLog {
  explicit SpanLog(int fd) : file(fd), reader(fd) {}
  base::UniqueFd file;
  otel::SpanStreamReader reader;
};
#else
struct ContainerInstance::SpanLog {};
#endif

// Hands the spans the container has ended since the last look to this
// process's provider (dropped when there is none left).
void ContainerInstance::take_container_spans() {
#if WASMSHIM_OPENTELEMETRY
  if (!span_log_) {
    return;
  }
  auto provider = otel::global_tracer_provider();
  span_log_->reader.take_new([&](std::vector<otel::SpanData>&& spans) {
    for (auto& finished : spans) {
      if (provider) {
        provider->submit(std::move(finished));
      }
    }
  });
#endif
}

// Blocks until the container process exits. A traced one's spans are taken
// as it writes them (or every kSpanPickup, where writes cannot be watched),
// so a long-lived container's spans leave on the exporter's schedule.
void ContainerInstance::wait_for_exit_taking_spans() {
#if WASMSHIM_OPENTELEMETRY
  if (!span_log_ || child_->pidfd() < 0) {
    return;  // the spans are all taken after the exit instead
  }
  const base::UniqueFd written = watch_writes(span_log_->file.get());
  const int timeout = written.valid() ? -1 : static_cast<int>(kSpanPickup.count());
  pollfd fds[2] = {{child_->pidfd(), POLLIN, 0}, {written.get(), POLLIN, 0}};
  while (true) {
    const int ready = ::poll(fds, written.valid() ? 2 : 1, timeout);
    if ((ready < 0 && errno != EINTR) || (ready > 0 && fds[0].revents != 0)) {
      return;
    }
    if (ready > 0) {
      char events[4096];
      while (::read(written.get(), events, sizeof events) > 0) {
      }
    }
    if (ready >= 0) {
      take_container_spans();
    }
  }
#endif
}

std::uint32_t ContainerInstance::start() {
  trace::ScopedSpan span("wasmshim.container", "container.spawn");
  const bool wasm = program_.kind == ProgramKind::wasm;
  span.set("container.program", program_.path).set("container.native", !wasm);
  ContainerLaunch launch{wasm ? LaunchMode::wasm : LaunchMode::native,
                         config_.bundle,
                         config_.stdin_path,
                         config_.stdout_path,
                         config_.stderr_path,
                         program_.path};
  container::SpawnRequest request;
  request.path = shim::self_executable();
  request.argv = launch.argv(request.path);
  // run_wasm_container unblocks once its handlers are in place; a native
  // program starts with the signal mask it would get from runc: empty.
  request.start_with_signals_blocked = wasm;
  if (spec_.linux) {
    request.namespaces = spec_.linux->namespaces;
    std::string names;
    for (const auto& ns : request.namespaces) {
      names += (names.empty() ? "" : ",") + ns.type + (ns.path.empty() ? "" : "=" + ns.path);
    }
    span.set("container.namespaces", names);
  }
  if (cgroup_ && !cgroup_->empty()) {
    request.cgroup = &*cgroup_;
    oom_kills_before_ = cgroup_->oom_kills();
  }
  std::vector<std::string> trace_env;
#if WASMSHIM_OPENTELEMETRY
  // The container's spans come back through a file and leave with the
  // shim's. In memory: nothing to clean up, and writes never block.
  auto provider = otel::global_tracer_provider();
  const int span_file = provider ? open_span_file() : -1;
  if (span_file >= 0) {
    span_log_ = std::make_unique<SpanLog>(span_file);
    request.fds.emplace_back(span_file, kTraceFd);
    trace_env = otel::environment_for(otel::Context::current());
    trace_env.push_back("WASMSHIM_TRACE_FD=" + std::to_string(kTraceFd));
  }
#endif
  request.env = shim::child_environment(trace_env);
  pid_t pid = -1;
  try {
    pid = container::spawn_container_process(request);
  } catch (const container::ContainerSetupError& e) {
    span.fail(e.what());
    throw StatusError(StatusCode::kInternal, e.what());
  }
  span.set("process.pid", static_cast<std::int64_t>(pid));
  child_->adopt(pid);
  return static_cast<std::uint32_t>(pid);
}

void ContainerInstance::kill(std::uint32_t signal) {
  child_->signal(signal);
}

void ContainerInstance::kill_all(std::uint32_t signal) {
  if (cgroup_ && !cgroup_->empty()) {
    cgroup_->signal_all(static_cast<int>(signal));
  } else {
    kill(signal);
  }
}

shim::ExitStatus ContainerInstance::wait() {
  wait_for_exit_taking_spans();
  const shim::ExitStatus exit = child_->reap();
  // In a pid namespace of its own, the kernel ends everything else in the
  // container with its first process; in a shared one, so do we (as runc's
  // shim does): nothing of the container outlives it.
  const container::OciNamespace* pid_namespace = container::find_namespace(spec_, "pid");
  if (cgroup_ && !cgroup_->empty() && (pid_namespace == nullptr || !pid_namespace->path.empty())) {
    cgroup_->signal_all(SIGKILL);
  }
  take_container_spans();  // all of them: the process has gone
  if (cgroup_ && !cgroup_->empty()) {
    oom_killed_ = cgroup_->oom_kills() > oom_kills_before_;
  }
  after_exit();
  return exit;
}

// An isolated container cannot leave the aot build behind (its pid
// namespace dies with it): the daemon starts it once the jit run has left
// the translation in the cache and said so (kAotWantedFile).
void ContainerInstance::after_exit() {
  if (!spec_.linux || program_.kind != ProgramKind::wasm) {
    return;
  }
  const std::string wanted = config_.bundle + "/" + kAotWantedFile;
  std::string digest;
  if (!(std::ifstream(wanted) >> digest)) {
    return;
  }
  ::unlink(wanted.c_str());
  try {
    wasm::EngineOptions options;
    options.cache_dir = wasm::default_cache_dir();
    wasm::start_background_build(digest, options);
  } catch (const std::exception&) {
    // Only a later start's speed depends on it.
  }
}

void ContainerInstance::remove() {
  if (child_->started()) {
    child_->kill_and_reap();
    take_container_spans();  // a task never waited for: what it ended before
  }
  if (cgroup_) {
    cgroup_->remove();
  }
}

std::unique_ptr<shim::Process> ContainerInstance::exec(const shim::ExecConfig& config) {
  if (program_.kind == ProgramKind::wasm) {
    throw StatusError(StatusCode::kUnimplemented,
                      "exec " + config.exec_id + ": container " + config_.id +
                          " runs a Wasm module, which is one process: it cannot exec another");
  }
  if (!child_->started()) {
    throw StatusError(StatusCode::kFailedPrecondition,
                      "exec " + config.exec_id + ": container " + config_.id + " is not running");
  }
  return std::make_unique<ExecProcess>(
      ExecTarget{child_->pid(), child_->pidfd(), config_.bundle, cgroup_ ? &*cgroup_ : nullptr},
      config);
}

}  // namespace wasmshim::runtime
