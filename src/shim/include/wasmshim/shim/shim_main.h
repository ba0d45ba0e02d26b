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
int run_shim(const std::vector<std::string>& args, const ShimInfo& info, InstanceFactory factory,
             const std::optional<otel::OtlpConfig>& otlp);

// This process's arguments (from /proc/self/cmdline), without the program name.
std::vector<std::string> process_arguments();

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
      otlp);
}

}  // namespace wasmshim
