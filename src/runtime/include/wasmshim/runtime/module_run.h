// How a module run ends, the same for a container's process and for
// `wasmshim run`: the guest's exit status passed on; a trap said on stderr
// and on the run's span; anything that kept the module from running (a
// refused module, a compile failure, a bad spec) said likewise, with the
// status 125 as runc gives for a container that cannot start.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "wasmshim/otel/instrument.h"

namespace wasmshim::runtime {

// The exit status when the process cannot run its program at all.
inline constexpr int kCannotRun = 125;

// What the engine says of a run that ended.
struct ModuleOutcome {
  int exit_code = 0;
  std::optional<std::string> trap;  // what trapped, when it did
};

struct ModuleRun {
  // The module as messages name it: as the container sees it (/app.wasm).
  std::string name;
  // The container's root on the host, once known: cut from error messages
  // so that files are named as the container sees them. Empty: none.
  std::string host_root;
};

// Runs `steps` (prepare the module, then run it; they may set
// run.host_root as they learn it) and gives the process's exit status.
int run_module(ModuleRun& run, trace::ScopedSpan& span,
               const std::function<ModuleOutcome(ModuleRun&)>& steps);

// `message` with every path under `host_root` written as the container
// sees it (host_root + "/app.wasm" -> "/app.wasm").
std::string as_container_sees_it(const std::string& message, const std::string& host_root);

}  // namespace wasmshim::runtime
