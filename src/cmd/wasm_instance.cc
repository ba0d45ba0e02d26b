#include "wasm_instance.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>

#include "wasmshim/otel/instrument.h"
#include "wasmshim/shim/environment.h"
#include "wasmshim/ttrpc/status.h"

#if WASMSHIM_OPENTELEMETRY
#include "wasmshim/otel/session.h"
#include "wasmshim/otel/span_stream.h"
#endif

extern char** environ;

namespace wasmshim::cmd {
namespace {

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

std::string self_executable() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) {
    throw std::runtime_error("readlink /proc/self/exe failed");
  }
  return std::string(path, static_cast<std::size_t>(n));
}

}  // namespace

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
  return std::unique_ptr<WasmInstance>(new WasmInstance(config, std::move(spec)));
}

WasmInstance::~WasmInstance() {
  remove();
  if (span_reader_.joinable()) {
    span_reader_.join();
  }
}

std::uint32_t WasmInstance::start() {
  std::vector<std::string> args{self_executable(),  kContainerModeFlag,  config_.bundle,
                                config_.stdin_path, config_.stdout_path, config_.stderr_path};
  std::vector<char*> argv;
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> trace_env;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int span_pipe[2] = {-1, -1};
#if WASMSHIM_OPENTELEMETRY
  // The container's spans come back over a pipe and leave with the shim's.
  auto provider = otel::global_tracer_provider();
  if (provider && ::pipe2(span_pipe, O_CLOEXEC) == 0) {
    posix_spawn_file_actions_adddup2(&actions, span_pipe[1], kTraceFd);
    trace_env = otel::environment_for(otel::Context::current());
    trace_env.push_back("WASMSHIM_TRACE_FD=" + std::to_string(kTraceFd));
  }
#endif
  std::vector<std::string> env_entries = shim::child_environment(trace_env);
  std::vector<char*> envp;
  for (auto& entry : env_entries) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group, so a signal for the container reaches nothing else.
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (span_pipe[1] >= 0) {
    ::close(span_pipe[1]);
  }
#if WASMSHIM_OPENTELEMETRY
  if (span_pipe[0] >= 0) {
    span_reader_ = std::thread([fd = span_pipe[0], provider] {
      otel::read_span_stream(fd, [&](std::vector<otel::SpanData>&& spans) {
        for (auto& span : spans) {
          provider->submit(std::move(span));
        }
      });
      ::close(fd);
    });
  }
#endif
  if (rc != 0) {
    throw StatusError(StatusCode::kInternal, std::string("starting the container process: ") +
                                                 std::generic_category().message(rc));
  }
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
  int status = 0;
  pid_t done = 0;
  do {
    done = ::waitpid(pid_, &status, 0);
  } while (done < 0 && errno == EINTR);
  reaped_ = true;
  // The container's last spans are in the pipe before its end closes.
  if (span_reader_.joinable()) {
    span_reader_.join();
  }
  shim::ExitStatus exit;
  exit.at = std::chrono::system_clock::now();
  if (done < 0) {
    exit.code = 255;
  } else if (WIFSIGNALED(status)) {
    exit.code = 128 + static_cast<std::uint32_t>(WTERMSIG(status));
  } else {
    exit.code = static_cast<std::uint32_t>(WEXITSTATUS(status));
  }
  return exit;
}

void WasmInstance::remove() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    reaped_ = true;
  }
}

}  // namespace wasmshim::cmd
