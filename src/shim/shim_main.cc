#include "wasmshim/shim/shim_main.h"

#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "commands.h"
#include "wasmshim/container/command_line.h"

namespace wasmshim::shim {

namespace {

// `start` and `delete` end their process. They leave without static
// destructors: those free memory the kernel takes back anyway, and after
// `start` has forked the daemon each page they write is copied first (a
// fault each, on the path of every task).
[[noreturn]] void end_process(int status) {
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace

std::vector<std::string> process_arguments() {
  std::vector<std::string> args = container::command_line();
  if (!args.empty()) {
    args.erase(args.begin());
  }
  return args;
}

int run_shim(const std::vector<std::string>& args, const ShimInfo& info, InstanceFactory factory,
             const std::optional<otel::OtlpConfig>& otlp, container::ZygoteEntry container_entry) {
  const std::string binary = "containerd-shim-" + info.name + "-" + info.shim_version;
  ShimFlags flags;
  try {
    flags = parse_flags(args);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s: %s\n", binary.c_str(), e.what());
    return 2;
  }
  if (flags.version) {
    std::printf("%s:\n  Runtime: io.containerd.%s.%s\n  Version: %s\n  Revision: %s\n",
                binary.c_str(), info.name.c_str(), info.shim_version.c_str(), info.version.c_str(),
                info.revision.c_str());
    return 0;
  }
  try {
    if (flags.action == "start") {
      end_process(start_command(flags, info, {std::move(factory), container_entry}, otlp));
    }
    if (flags.action == "delete") {
      end_process(delete_command(flags, info, otlp));
    }
    if (flags.action == "serve") {
      return serve_command(flags, info, {std::move(factory), container_entry}, otlp);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s %s: %s\n", binary.c_str(), flags.action.c_str(), e.what());
    return 1;
  }
  std::fprintf(
      stderr,
      "%s: %s\nusage: %s [-namespace NS -id ID -address ADDR -publish-binary BIN "
      "[-bundle DIR] [-debug]] start|delete, or -v\n",
      binary.c_str(),
      flags.action.empty() ? "no action given" : ("unknown action '" + flags.action + "'").c_str(),
      binary.c_str());
  return 2;
}

}  // namespace wasmshim::shim
