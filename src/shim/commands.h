// The shim binary's actions, called by run_shim.
#pragma once

#include "cli.h"
#include "wasmshim/shim/shim_main.h"

namespace wasmshim::shim {

// What the daemon needs from the shim's main.
struct DaemonParts {
  InstanceFactory factory;
  container::ZygoteEntry container_entry = nullptr;
};

// `start`: prints the address of a shim for this task (forking the daemon,
// or reusing the group's running one).
int start_command(const ShimFlags& flags, const ShimInfo& info, DaemonParts parts,
                  const std::optional<otel::OtlpConfig>& otlp);
// `delete`: cleans up after a task whose shim is gone; writes a
// DeleteResponse to stdout.
int delete_command(const ShimFlags& flags, const ShimInfo& info,
                   const std::optional<otel::OtlpConfig>& otlp);
class StartTrace;

// `serve`: the daemon, on the listening socket `start` passed as fd 3.
// `started_by`: the `start` this process was forked from (its copy), or
// null.
int serve_command(const ShimFlags& flags, const ShimInfo& info, DaemonParts parts,
                  const std::optional<otel::OtlpConfig>& otlp, StartTrace* started_by = nullptr);

// The fd the listening socket has in the daemon.
inline constexpr int kListenerFd = 3;

}  // namespace wasmshim::shim
