// containerd-shim-echo-v1, the containerd runtime io.containerd.echo.v1: a
// shim built on the installed wasmshim libraries whose "engine" is not Wasm.
// A container's process greets, writes its process.args to the container's
// stdout and exits with the status its ECHO_EXIT_STATUS variable names.
// wasmshim::shim_main gives it the shim v2 command line, the Task service,
// events, stdio paths and tracing; this file is only the Instance.
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "wasmshim/base/unique_fd.h"
#include "wasmshim/container/oci_spec.h"
#include "wasmshim/container/spawn.h"
#include "wasmshim/otel/config.h"
#include "wasmshim/otel/instrument.h"
#include "wasmshim/shim/environment.h"
#include "wasmshim/shim/shim_main.h"
#include "wasmshim/ttrpc/status.h"

namespace {

using wasmshim::ttrpc::StatusCode;
using wasmshim::ttrpc::StatusError;
namespace shim = wasmshim::shim;
namespace trace = wasmshim::trace;

// argv[1] of a container process: `--echo-container STDOUT STATUS ID ARGS...`.
constexpr const char* kContainerFlag = "--echo-container";
constexpr const char* kScope = "echo-shim";

// ECHO_EXIT_STATUS=N from process.env (0 when absent); anything but 0..255
// is refused at Create, naming the variable.
int exit_status_from(const std::vector<std::string>& env) {
  const std::string name = "ECHO_EXIT_STATUS=";
  for (const auto& entry : env) {
    if (entry.rfind(name, 0) == 0) {
      const std::string value = entry.substr(name.size());
      if (value.empty() || value.size() > 3 ||
          value.find_first_not_of("0123456789") != std::string::npos || std::stoi(value) > 255) {
        throw StatusError(StatusCode::kInvalidArgument,
                          "ECHO_EXIT_STATUS must be 0..255, not \"" + value + "\"");
      }
      return std::stoi(value);
    }
  }
  return 0;
}

class EchoInstance final : public shim::Instance {
 public:
  EchoInstance(shim::InstanceConfig config, wasmshim::container::OciSpec spec, int status)
      : config_(std::move(config)), spec_(std::move(spec)), status_(status) {}
  ~EchoInstance() override { remove(); }

  static std::unique_ptr<EchoInstance> create(const shim::InstanceConfig& config) {
    trace::ScopedSpan span(kScope, "echo.create");
    try {
      auto spec = wasmshim::container::load_oci_spec(config.bundle);
      const int status = exit_status_from(spec.process.env);
      span.set("echo.arg_count", static_cast<std::int64_t>(spec.process.args.size()));
      return std::make_unique<EchoInstance>(config, std::move(spec), status);
    } catch (const wasmshim::container::OciSpecError& e) {
      span.fail(e.what());
      throw StatusError(StatusCode::kInvalidArgument, e.what());
    }
  }

  // The container's process in the namespaces config.json asks for.
  std::uint32_t start() override {
    trace::ScopedSpan span(kScope, "echo.start");
    wasmshim::container::SpawnRequest request;
    request.path = shim::self_executable();
    request.argv = {request.path, kContainerFlag, config_.stdout_path, std::to_string(status_),
                    config_.id};
    request.argv.insert(request.argv.end(), spec_.process.args.begin(), spec_.process.args.end());
    request.env = shim::child_environment({});
    if (spec_.linux) {
      request.namespaces = spec_.linux->namespaces;
    }
    try {
      pid_ = wasmshim::container::spawn_container_process(request);
    } catch (const std::exception& e) {
      span.fail(e.what());
      throw StatusError(StatusCode::kInternal, e.what());
    }
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    span.set("process.pid", static_cast<std::int64_t>(pid_));
    return static_cast<std::uint32_t>(pid_);
  }

  void kill(std::uint32_t signal) override {
    if (!send_signal(static_cast<int>(signal))) {
      throw StatusError(StatusCode::kInternal, "kill " + std::to_string(pid_) + ": " +
                                                   std::generic_category().message(errno));
    }
  }

  // The one reaper of the process; a second wait, or one before start,
  // has no status to give.
  shim::ExitStatus wait() override {
    trace::ScopedSpan span(kScope, "echo.wait");
    int status = 0;
    pid_t done = -1;
    if (pid_ > 0 && !reaping_.exchange(true)) {
      while ((done = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
      }
    }
    shim::ExitStatus exit{.code = 255, .at = std::chrono::system_clock::now()};
    if (done == pid_) {
      exit.code = WIFSIGNALED(status) ? 128 + static_cast<std::uint32_t>(WTERMSIG(status))
                                      : static_cast<std::uint32_t>(WEXITSTATUS(status));
    }
    span.set("process.exit_code", static_cast<std::int64_t>(exit.code));
    return exit;
  }

  // Nothing of the container outlives it: killed, and reaped here unless
  // a wait() is reaping it.
  void remove() override {
    if (pid_ > 0) {
      send_signal(SIGKILL);
      if (!reaping_.exchange(true)) {
        ::waitpid(pid_, nullptr, 0);
      }
    }
  }

  // The container's process (forked by the shim's zygote, or exec'd):
  // argv is the spawn request's.
  static int container_main(int argc, char** argv) {
    if (argc < 5) {
      std::fprintf(stderr, "echo-shim: started without STDOUT STATUS ID\n");
      return 127;
    }
    const std::string stdout_path = argv[2][0] != '\0' ? argv[2] : "/dev/null";
    std::FILE* out = std::fopen(stdout_path.c_str(), "w");
    if (out == nullptr) {
      return 127;
    }
    std::fprintf(out, "hello from echo-shim, container %s\n", argv[4]);
    for (int i = 5; i < argc; ++i) {
      std::fprintf(out, "%s%s", argv[i], i + 1 < argc ? " " : "\n");
    }
    std::fclose(out);
    return std::stoi(argv[3]);
  }

 private:
  // Through a pidfd, so a signal after the exit never reaches a reused pid;
  // a process that has exited already is no failure.
  bool send_signal(int signal) noexcept {
    return !pidfd_.valid() ||
           ::syscall(SYS_pidfd_send_signal, pidfd_.get(), signal, nullptr, 0) == 0 ||
           errno == ESRCH;
  }

  shim::InstanceConfig config_;
  wasmshim::container::OciSpec spec_;
  int status_;
  pid_t pid_ = -1;
  wasmshim::base::UniqueFd pidfd_;
  std::atomic<bool> reaping_{false};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == kContainerFlag) {
    return EchoInstance::container_main(argc, argv);
  }
  // Tracing as the OpenTelemetry variables say (containerd passes its own
  // environment on); a service name of our own unless OTEL_SERVICE_NAME
  // gives one. An invalid variable leaves tracing off, and says so.
  auto otlp = wasmshim::otel::otlp_config_from_env();
  for (const auto& error : otlp.errors) {
    std::fprintf(stderr, "echo-shim: %s\n", error.c_str());
  }
  if (otlp.config.service_name.empty()) {
    otlp.config.service_name = "echo-shim";
  }
  return wasmshim::shim_main<EchoInstance>("echo", "0.1.0", "example", "v1", otlp.config);
}
