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
#include <string_view>

#include "container_process.h"
#include "wasmshim/container/oci_spec.h"
#include "wasmshim/container/setup.h"
#include "wasmshim/otel/instrument.h"
#include "wasmshim/runtime/container_instance.h"
#include "wasmshim/wasm/engine.h"

#if WASMSHIM_OPENTELEMETRY
#include "wasmshim/otel/session.h"
#endif

namespace wasmshim::runtime {
namespace {

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

}  // namespace

int run_wasm_container(const ContainerLaunch& launch) {
  handle_signals_then_unblock();
  const std::string& bundle = launch.bundle;
  ContainerTracing tracing;
  if (!take_stdio(launch, tracing)) {
    return kCannotRun;
  }
  trace::ScopedSpan span("wasmshim.container", "container.run", trace::Kind::internal,
                         tracing.parent());
  span.set("container.bundle", bundle);
  ModuleRun module_run{launch.program, {}};
  return run_module(module_run, span, [&](ModuleRun& run) {
    const container::OciSpec spec = container::load_oci_spec(bundle);
    run.host_root = spec.root_path;
    wasm::EngineOptions engine;
    engine.cache_dir = wasm::default_cache_dir();
    // Where this process reports its errors: the container's stderr, which
    // ctr and CRI's logs show, never its stdout.
    engine.log = [](std::string_view line) {
      std::fprintf(stderr, "wasmshim: %.*s\n", static_cast<int>(line.size()), line.data());
    };
    // An isolated container's pid namespace ends with it, and a build would
    // end too: the shim starts it instead (ContainerInstance::after_exit).
    engine.background_aot = !spec.linux.has_value();
    wasm::PreparedModule prepared = wasm::prepare_file(spec.root_path + run.name, engine);
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
    const bool pivoted = enter_container(spec);
    wasi.preopens.push_back({pivoted ? "/" : spec.root_path, "/"});
    const wasm::RunResult result = wasm::run(prepared, wasi, engine);
    return ModuleOutcome{result.exit_code, result.trap};
  });
}

}  // namespace wasmshim::runtime
