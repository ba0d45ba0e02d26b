// A process the shim started and alone reaps. Signals go through a pidfd
// opened while the process was still an unreaped child, so a signal sent
// after the exit can never reach another process that reused the pid.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>

#include "wasmshim/shim/instance.h"
#include "wasmshim/ttrpc/unix_socket.h"

namespace wasmshim::runtime {

class ShimChild {
 public:
  ShimChild() = default;
  ShimChild(const ShimChild&) = delete;
  ShimChild& operator=(const ShimChild&) = delete;

  // Takes a freshly spawned child (not yet waited for).
  void adopt(pid_t pid);
  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  // -1 when the kernel gave none.
  int pidfd() const { return pidfd_.get(); }

  // Throws ttrpc::StatusError if the signal cannot be sent; a process
  // that has already exited is not an error.
  void signal(std::uint32_t signal) const;
  // Blocks until the process has exited and reaps it (once).
  shim::ExitStatus reap();
  // A started process not reaped yet is killed and reaped.
  void kill_and_reap();

 private:
  pid_t pid_ = 0;
  base::UniqueFd pidfd_;
  std::atomic<bool> reaped_{false};
};

}  // namespace wasmshim::runtime
