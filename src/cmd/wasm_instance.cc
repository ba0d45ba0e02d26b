#include "wasm_instance.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
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

namespace wasmshim::cmd {
namespace {

// How often a waiting shim takes the spans a running container has ended.
constexpr std::chrono::milliseconds kSpanPickup{1000};

using ttrpc::StatusCode;
using ttrpc::StatusError;

// Opens `path` as the container would see it: resolved inside the rootfs,
// symlinks and ".." included, never outside it.
int open_in_rootfs(const std::string& rootfs, const std::string& path) {
  int root = ::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    return -1;
  }
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT;
  const std::string relative = path.starts_with("/") ? path.substr(1) : path;
  int fd = static_cast<int>(::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof(how)));
  const int error = errno;
  ::close(root);
  errno = error;
  return fd;
}

// The module must be there and be Wasm; anything else is named.
void check_module(const container::OciSpec& spec) {
  const std::string& module = spec.process.args[0];
  const std::string in_root = module.starts_with("/") ? module : (spec.process.cwd + "/" + module);
  int fd = open_in_rootfs(spec.root_path, in_root);
  if (fd < 0) {
    throw StatusError(StatusCode::kNotFound,
                      module + ": no such file in the container's root filesystem (" +
                          std::generic_category().message(errno) + ")");
  }
  unsigned char magic[4] = {};
  const ssize_t n = ::read(fd, magic, sizeof(magic));
  ::close(fd);
  if (n == 4 && std::memcmp(magic, "\0asm", 4) == 0) {
    return;
  }
  if (n == 4 && std::memcmp(magic,
                            "\x7f"
                            "ELF",
                            4) == 0) {
    throw StatusError(StatusCode::kInvalidArgument,
                      module +
                          " is a native executable, not a Wasm module: run it with a native "
                          "runtime such as io.containerd.runc.v2");
  }
  if (n >= 2 && magic[0] == '#' && magic[1] == '!') {
    throw StatusError(StatusCode::kInvalidArgument, module + " is a script, not a Wasm module");
  }
  throw StatusError(StatusCode::kInvalidArgument,
                    module + " is not a Wasm module (no \\0asm magic at its start)");
}

// What the spec asks that wasmshim cannot give is refused at Create, with
// the field at fault, so it never surfaces as a failed Start.
void check_isolation(const container::OciSpec& spec) {
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
      container::check_seccomp(*spec.linux->seccomp);
    } catch (const container::ContainerSetupError& e) {
      throw StatusError(StatusCode::kInvalidArgument, std::string("config.json: ") + e.what());
    }
  }
}

}  // namespace

int WasmInstance::container_main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != kContainerModeFlag) {
    std::fprintf(stderr, "wasmshim container: started without %s\n", kContainerModeFlag);
    return 125;
  }
  return run_wasm_container(argc - 2, argv + 2);
}

WasmInstance::WasmInstance(shim::InstanceConfig config, container::OciSpec spec)
    : config_(std::move(config)), spec_(std::move(spec)) {}

std::unique_ptr<WasmInstance> WasmInstance::create(const shim::InstanceConfig& config) {
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
  check_module(spec);
  check_isolation(spec);
  std::unique_ptr<WasmInstance> instance(new WasmInstance(config, std::move(spec)));
  instance->make_cgroup();
  return instance;
}

void WasmInstance::make_cgroup() {
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

std::string WasmInstance::host_module_path() const {
  const std::string& module = spec_.process.args[0];
  return spec_.root_path + (module.starts_with("/") ? module : spec_.process.cwd + "/" + module);
}

std::optional<container::CgroupStats> WasmInstance::stats() {
  if (!cgroup_ || cgroup_->empty()) {
    return std::nullopt;
  }
  return cgroup_->stats();
}

WasmInstance::~WasmInstance() {
  remove();
}

#if WASMSHIM_OPENTELEMETRY
struct WasmInstance::SpanLog {
  explicit SpanLog(int fd) : file(fd), reader(fd) {}
  ttrpc::UniqueFd file;
  otel::SpanStreamReader reader;
};
#else
struct WasmInstance::SpanLog {};
#endif

// Hands the spans the container has ended since the last look to this
// process's provider (dropped when there is none left).
void WasmInstance::take_container_spans() {
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
// every kSpanPickup meanwhile, so a long-lived container's spans leave on the
// exporter's schedule; a span written never wakes this thread by itself.
void WasmInstance::wait_for_exit_taking_spans() {
  if (!span_log_) {
    return;
  }
  ttrpc::UniqueFd exit(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  if (!exit.valid()) {
    return;  // the spans are all taken after the exit instead
  }
  pollfd exited{exit.get(), POLLIN, 0};
  while (true) {
    const int ready = ::poll(&exited, 1, static_cast<int>(kSpanPickup.count()));
    if (ready > 0 || (ready < 0 && errno != EINTR)) {
      return;
    }
    if (ready == 0) {
      take_container_spans();
    }
  }
}

std::uint32_t WasmInstance::start() {
  trace::ScopedSpan span("wasmshim.container", "container.spawn");
  container::SpawnRequest request;
  request.path = shim::self_executable();
  request.argv = {request.path,       kContainerModeFlag,  config_.bundle,
                  config_.stdin_path, config_.stdout_path, config_.stderr_path};
  // run_wasm_container unblocks once its handlers are in place.
  request.start_with_signals_blocked = true;
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
  // shim's. A memfd: nothing to clean up, and writes never block.
  auto provider = otel::global_tracer_provider();
  const int span_file = provider ? ::memfd_create("wasmshim-spans", MFD_CLOEXEC) : -1;
  if (span_file >= 0) {
    span_log_ = std::make_unique<SpanLog>(span_file);
    request.fds.emplace_back(span_file, kTraceFd);
    trace_env = otel::environment_for(otel::Context::current());
    trace_env.push_back("WASMSHIM_TRACE_FD=" + std::to_string(kTraceFd));
  }
#endif
  request.env = shim::child_environment(trace_env);
  pid_t pid = -1;
  std::string error;
  try {
    pid = container::spawn_container_process(request);
  } catch (const container::ContainerSetupError& e) {
    error = e.what();
  }
  if (pid < 0) {
    span.fail(error);
    throw StatusError(StatusCode::kInternal, error);
  }
  span.set("process.pid", static_cast<std::int64_t>(pid));
  pid_ = pid;
  return static_cast<std::uint32_t>(pid);
}

void WasmInstance::kill(std::uint32_t signal) {
  if (pid_ > 0 && ::kill(pid_, static_cast<int>(signal)) != 0 && errno != ESRCH) {
    throw StatusError(StatusCode::kInternal, std::string("kill ") + std::to_string(pid_) + ": " +
                                                 std::generic_category().message(errno));
  }
}

shim::ExitStatus WasmInstance::wait() {
  wait_for_exit_taking_spans();
  int status = 0;
  pid_t done = 0;
  do {
    done = ::waitpid(pid_, &status, 0);
  } while (done < 0 && errno == EINTR);
  reaped_ = true;
  take_container_spans();  // all of them: the process has gone
  shim::ExitStatus exit;
  exit.at = std::chrono::system_clock::now();
  if (cgroup_ && !cgroup_->empty()) {
    oom_killed_ = cgroup_->oom_kills() > oom_kills_before_;
  }
  after_exit();
  if (done < 0) {
    exit.code = 255;
  } else if (WIFSIGNALED(status)) {
    exit.code = 128 + static_cast<std::uint32_t>(WTERMSIG(status));
  } else {
    exit.code = static_cast<std::uint32_t>(WEXITSTATUS(status));
  }
  return exit;
}

// An isolated container cannot leave the aot build behind (its pid
// namespace dies with it): the daemon starts it once the jit run has left
// the translation in the cache and said so (kAotWantedFile).
void WasmInstance::after_exit() {
  if (!spec_.linux) {
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

void WasmInstance::remove() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    reaped_ = true;
    take_container_spans();  // a task never started: what it ended before
  }
  if (cgroup_) {
    cgroup_->remove();
  }
}

}  // namespace wasmshim::cmd
