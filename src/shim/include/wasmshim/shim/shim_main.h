// The one call a shim's main makes.
//
//   int main() {
//     return wasmshim::shim_main<MyInstance>("wasmshim", "0.1.0", "abc123", "v1", std::nullopt);
//   }
//
// It implements the containerd shim v2 command line (-v, start, delete, and
// the daemon start spawns), the Task service over ttrpc, events to
// containerd, the shim log; the Instance type runs each container.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wasmshim/container/zygote.h"
#include "wasmshim/otel/config.h"
#include "wasmshim/shim/instance.h"

namespace wasmshim {
namespace shim {

struct ShimInfo {
  // "wasmshim": the binary is containerd-shim-<name>-<shim_version>, the
  // runtime io.containerd.<name>.<shim_version>.
  std::string name;
  std::string version;
  std::string revision;
  std::string shim_version;
};

using InstanceFactory = std::function<std::unique_ptr<Instance>(const InstanceConfig&)>;

// `args` without the program name. Returns the process exit status.
// `container_entry`: what the daemon's container processes run, forked by
// its zygote (see container/zygote.h) instead of exec'd; nullptr: the
// Instance execs its own.
int run_shim(const std::vector<std::string>& args, const ShimInfo& info, InstanceFactory factory,
             const std::optional<otel::OtlpConfig>& otlp,
             container::ZygoteEntry container_entry = nullptr);

// This process's arguments (from /proc/self/cmdline), without the program name.
std::vector<std::string> process_arguments();

// An Instance type whose container processes run its own code names it as
// `static int container_main(int argc, char** argv)`.
template <typename I>
constexpr container::ZygoteEntry container_entry_of() {
  if constexpr (requires { &I::container_main; }) {
    return &I::container_main;
  } else {
    return nullptr;
  }
}

}  // namespace shim

template <shim::InstanceType I>
int shim_main(std::string name, std::string version, std::string revision, std::string shim_version,
              const std::optional<otel::OtlpConfig>& otlp) {
  return shim::run_shim(
      shim::process_arguments(),
      {std::move(name), std::move(version), std::move(revision), std::move(shim_version)},
      [](const shim::InstanceConfig& config) -> std::unique_ptr<shim::Instance> {
        return I::create(config);
      },
      otlp, shim::container_entry_of<I>());
}

}  // namespace wasmshim
