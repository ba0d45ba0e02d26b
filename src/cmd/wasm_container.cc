// Container mode of the shim binary: the container's own process. Opens the
// stdio fifos, reads the bundle's spec and runs its module, the rootfs
// preopened as "/". Compiling here (not in the daemon) puts the compiler's
// memory on the container's account.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "wasm_instance.h"
#include "wasmshim/container/oci_spec.h"
#include "wasmshim/otel/instrument.h"
#include "wasmshim/wasm/engine.h"

#if WASMSHIM_OPENTELEMETRY
#include "wasmshim/otel/session.h"
#endif

namespace wasmshim::cmd {
namespace {

constexpr int kCannotRun = 125;

// An empty path is /dev/null. containerd holds the other end of each fifo;
// a reading end is opened without waiting for a writer (there may never be
// one when nobody types into the container), then made blocking again.
bool redirect(const std::string& path, int target, int flags) {
  const bool reading = (flags & O_ACCMODE) == O_RDONLY;
  const int fd = ::open(path.empty() ? "/dev/null" : path.c_str(),
                        flags | O_CLOEXEC | (reading ? O_NONBLOCK : 0));
  if (fd < 0) {
    return false;
  }
  if (reading) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  const bool ok = ::dup2(fd, target) == target;
  ::close(fd);
  return ok;
}

}  // namespace

int run_wasm_container(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "wasmshim container: expected BUNDLE STDIN STDOUT STDERR\n");
    return kCannotRun;
  }
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
                         trace::Parent{otel::context_from_environment()});
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
    wasm::WasiConfig wasi;
    wasi.args = spec.process.args;
    wasi.env = spec.process.env;
    wasi.preopens.push_back({spec.root_path, "/"});
    wasm::PreparedModule prepared = wasm::prepare_file(host_module, engine);
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
