// Container mode of the shim binary: the container's own process, already in
// its namespaces and cgroup. Opens the stdio fifos, reads the bundle's spec,
// compiles the module (on the host's cache: compiling here puts the
// compiler's memory on the container's account), then isolates itself as the
// spec asks (rootfs, hostname, rlimits, ids, capabilities, seccomp) and runs
// the module with "/" preopened.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "wasm_instance.h"
#include "wasmshim/container/oci_spec.h"
#include "wasmshim/container/setup.h"
#include "wasmshim/otel/instrument.h"
#include "wasmshim/wasm/engine.h"

#if WASMSHIM_OPENTELEMETRY
#include "wasmshim/otel/session.h"
#endif

namespace wasmshim::cmd {
namespace {

constexpr int kCannotRun = 125;

// An empty path is /dev/null. containerd holds the other end of each fifo,
// or nobody does (a detached `ctr run -d`), and whoever reads may leave at
// any time: no open may wait for a peer, and output is opened read-write,
// so the process itself keeps a reader and a client that goes away never
// turns the next write into SIGPIPE (output waits in the pipe instead).
// Both ends are made blocking again.
bool redirect(const std::string& path, int target, int flags) {
  const char* name = path.empty() ? "/dev/null" : path.c_str();
  if ((flags & O_ACCMODE) == O_WRONLY) {
    flags = (flags & ~O_ACCMODE) | O_RDWR;
  }
  const int fd = ::open(name, flags | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return false;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const bool ok = ::dup2(fd, target) == target;
  ::close(fd);
  return ok;
}

// Room the process itself needs inside the memory limit, beyond what it
// holds once the module is compiled: stacks, WASI buffers, page tables.
constexpr std::uint64_t kMemoryHeadroom = 8ULL << 20;

std::uint64_t resident_bytes() {
  std::FILE* status = std::fopen("/proc/self/statm", "r");
  if (status == nullptr) {
    return 0;
  }
  unsigned long size = 0;
  unsigned long resident = 0;
  const int read = std::fscanf(status, "%lu %lu", &size, &resident);
  std::fclose(status);
  return read == 2 ? resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

// The cgroup's memory limit minus what this process already uses: linear
// memory growth past it fails inside Wasm (memory.grow returns -1) instead
// of waking the kernel's OOM killer.
std::uint64_t guest_memory_budget(const container::OciSpec& spec) {
  if (!spec.linux || !spec.linux->resources.memory_limit ||
      *spec.linux->resources.memory_limit < 0) {
    return 0;
  }
  const auto limit = static_cast<std::uint64_t>(*spec.linux->resources.memory_limit);
  const std::uint64_t used = resident_bytes() + kMemoryHeadroom;
  // At least one page, so the cap stays a cap (0 means none).
  return limit > used + 65536 ? limit - used : 65536;
}

// As pid 1 of its namespace the process gets no signal it has no handler
// for, so `kill` with SIGTERM would do nothing: end as the signal would.
void exit_on_signal(int signal) {
  ::_exit(128 + signal);
}

// The shim starts this process with signals blocked (a signal sent before
// the handlers exist then waits instead of being dropped).
void handle_signals_then_unblock() {
  if (::getpid() == 1) {
    for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE}) {
      struct sigaction action {};
      action.sa_handler = exit_on_signal;
      sigemptyset(&action.sa_mask);
      ::sigaction(signal, &action, nullptr);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
}

// Returns the host directory to preopen as "/": the rootfs, or "/" once the
// process has pivoted into it.
std::string isolate(const container::OciSpec& spec) {
  if (!spec.linux) {
    return spec.root_path;
  }
  trace::ScopedSpan span("wasmshim.container", "container.isolate");
  const container::OciNamespace* mount = container::find_namespace(spec, "mount");
  const bool pivot = mount != nullptr && mount->path.empty();
  span.set("container.pivot_root", pivot)
      .set("container.mounts", static_cast<std::int64_t>(spec.mounts.size()))
      .set("container.seccomp", spec.linux->seccomp.has_value());
  try {
    if (pivot) {
      container::enter_rootfs(spec);
    }
    container::set_hostname(spec);
    container::apply_rlimits(spec);
    container::drop_privileges(spec);
  } catch (const std::exception& e) {
    span.fail(e.what());
    throw;
  }
  return pivot ? "/" : spec.root_path;
}

}  // namespace

int run_wasm_container(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "wasmshim container: expected BUNDLE STDIN STDOUT STDERR\n");
    return kCannotRun;
  }
  handle_signals_then_unblock();
  const std::string bundle = argv[0];
  // NOLINTNEXTLINE(concurrency-mt-unsafe): one thread so far.
  const bool traced = std::getenv("WASMSHIM_TRACE_FD") != nullptr;
  // Nothing of the daemon's (its sockets, pipes) belongs in the container,
  // except the span pipe.
  ::close_range(traced ? kTraceFd + 1 : kTraceFd, ~0U, 0);
  if (!redirect(argv[1], STDIN_FILENO, O_RDONLY) || !redirect(argv[2], STDOUT_FILENO, O_WRONLY) ||
      !redirect(argv[3], STDERR_FILENO, O_WRONLY)) {
    std::perror("wasmshim container: opening stdio");
    return kCannotRun;
  }
#if WASMSHIM_OPENTELEMETRY
  std::optional<otel::TracingSession> tracing;
  if (traced) {
    ::fcntl(kTraceFd, F_SETFD, FD_CLOEXEC);
    tracing.emplace(otel::SessionOptions{
        {"", WASMSHIM_VERSION}, std::nullopt, [](std::string_view) {}, kTraceFd});
  }
  trace::ScopedSpan span("wasmshim.container", "container.run", trace::Kind::internal,
                         trace::Parent{otel::context_from_traceparent_environment()});
#else
  trace::ScopedSpan span("wasmshim.container", "container.run");
#endif
  span.set("container.bundle", bundle);
  try {
    const container::OciSpec spec = container::load_oci_spec(bundle);
    const std::string& module = spec.process.args[0];
    const std::string host_module =
        spec.root_path + (module.starts_with("/") ? module : spec.process.cwd + "/" + module);
    wasm::EngineOptions engine;
    engine.cache_dir = wasm::default_cache_dir();
    // An isolated container's pid namespace ends with it, and a build would
    // end too: the shim starts it instead (WasmInstance::after_exit).
    engine.background_aot = !spec.linux.has_value();
    wasm::PreparedModule prepared = wasm::prepare_file(host_module, engine);
    if (!engine.background_aot && prepared.tier() == "jit") {
      // Still on the host's filesystem: the shim reads it after the exit.
      std::ofstream(bundle + "/" + kAotWantedFile) << prepared.report().module_digest << '\n';
    }
    engine.max_memory_bytes = guest_memory_budget(spec);
    if (engine.max_memory_bytes != 0) {
      span.set("wasm.max_memory_bytes", static_cast<std::int64_t>(engine.max_memory_bytes));
    }
    wasm::WasiConfig wasi;
    wasi.args = spec.process.args;
    wasi.env = spec.process.env;
    wasi.preopens.push_back({isolate(spec), "/"});
    wasm::RunResult result = wasm::run(prepared, wasi, engine);
    if (result.trap) {
      std::fprintf(stderr, "wasmshim: %s: wasm trap: %s\n", module.c_str(), result.trap->c_str());
      span.fail("wasm trap: " + *result.trap);
    }
    span.set("exit_code", static_cast<std::int64_t>(result.exit_code));
    return result.exit_code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wasmshim: %s\n", e.what());
    span.fail(e.what());
    return kCannotRun;
  }
}

}  // namespace wasmshim::cmd
