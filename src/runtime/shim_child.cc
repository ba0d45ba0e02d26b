#include "shim_child.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>

#include "wasmshim/ttrpc/status.h"

namespace wasmshim::runtime {

void ShimChild::adopt(pid_t pid) {
  pid_ = pid;
  pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

void ShimChild::signal(std::uint32_t signal) const {
  if (pid_ <= 0 || reaped_) {
    return;
  }
  const int sig = static_cast<int>(signal);
  const long sent = pidfd_.valid() ? ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0)
                                   : ::kill(pid_, sig);
  if (sent != 0 && errno != ESRCH) {
    throw ttrpc::StatusError(
        ttrpc::StatusCode::kInternal,
        "kill " + std::to_string(pid_) + ": " + std::generic_category().message(errno));
  }
}

shim::ExitStatus ShimChild::reap() {
  if (pid_ <= 0 || reaped_) {
    // Never started, or reaped: waitpid here would take another child.
    return {255, std::chrono::system_clock::now()};
  }
  int status = 0;
  pid_t done = 0;
  do {
    done = ::waitpid(pid_, &status, 0);
  } while (done < 0 && errno == EINTR);
  reaped_ = true;
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

void ShimChild::kill_and_reap() {
  if (pid_ <= 0 || reaped_) {
    return;
  }
  signal(SIGKILL);
  reap();
}

}  // namespace wasmshim::runtime
