// The container's own process: what the shim asks of it (its argv, written
// by the shim side and read by the process side), and the steps both kinds
// of program share inside it (stdio, entering the container).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wasmshim/container/oci_spec.h"
#include "wasmshim/otel/instrument.h"
#include "wasmshim/runtime/module_run.h"

namespace wasmshim::runtime {

// The fd a traced container process writes its spans to.
inline constexpr int kTraceFd = 3;
// An exec'd process reads its process (the runtime-spec JSON) from here,
// not from argv, where the command line would show its environment.
inline constexpr int kExecProcessFd = 3;
// The container's mount namespace, when it has one of its own: the exec'd
// process joins it last, once it has read what lies on the host.
inline constexpr int kExecMountNamespaceFd = 4;

enum class LaunchMode { wasm, native, exec };

// argv: SELF --wasmshim-container MODE BUNDLE STDIN STDOUT STDERR PROGRAM.
// An exec's stdio comes as fds 0-2 (its stdio paths are empty) and its
// process on kExecProcessFd; its BUNDLE is its container's.
struct ContainerLaunch {
  LaunchMode mode = LaunchMode::wasm;
  std::string bundle;
  std::string stdin_path;
  std::string stdout_path;
  std::string stderr_path;
  // The module or executable, as the container sees it.
  std::string program;

  std::vector<std::string> argv(const std::string& self) const;
  // From the arguments after the mode flag; nullopt when they do not fit.
  static std::optional<ContainerLaunch> parse(int argc, char** argv);
};

// As a shell reports a program it could not exec.
inline constexpr int kCannotExec = 127;

// Opens a stdio fifo (empty: /dev/null) so that no open waits for a peer,
// blocking afterwards; output is opened read-write so a reader that goes
// away never turns the next write into SIGPIPE. Returns the fd, or -1.
int open_stdio(const std::string& path, int flags);

// Inside the container: rootfs (pivot_root when the spec has a mount
// namespace of its own), hostname, rlimits, oomScoreAdj, then
// `before_privileges_drop(pivoted)`, then ids, capabilities, no_new_privs
// and seccomp. Without a "linux" object only oomScoreAdj and the hook. Returns whether
// it pivoted. Throws ContainerSetupError naming the step.
bool enter_container(const container::OciSpec& spec,
                     const std::function<void(bool pivoted)>& before_privileges_drop = {});

// The container process's tracing: spans go to kTraceFd when the shim asked
// for them (WASMSHIM_TRACE_FD), children of the context in TRACEPARENT; the
// process never talks to a collector. Everything is written by the time it
// is destroyed.
class ContainerTracing {
 public:
  ContainerTracing();
  ~ContainerTracing();
  ContainerTracing(const ContainerTracing&) = delete;
  ContainerTracing& operator=(const ContainerTracing&) = delete;

  bool traced() const { return traced_; }
  // The parent of the process's container.run span.
  trace::Parent parent() const;

 private:
  bool traced_ = false;
  struct Session;
  std::unique_ptr<Session> session_;
};

// A container process's first steps: every fd the daemon may have left
// open closed (all but the span file when traced), then the stdio fifos on
// fds 0-2. False, said on stderr, when the fifos cannot be opened.
bool take_stdio(const ContainerLaunch& launch, const ContainerTracing& tracing);

int run_wasm_container(const ContainerLaunch& launch);
int run_native_container(const ContainerLaunch& launch);
int run_exec_process(const ContainerLaunch& launch);

}  // namespace wasmshim::runtime
