// wasmshim: the command line for the engine.
//
//   wasmshim run [--tier jit|aot|auto|baseline] [--dir HOST[::GUEST]]... [--env KEY=VALUE]...
//   app.wasm [args...]
//
// Exit status: the guest's own; 134 when it traps; 125 when the module cannot
// be run at all (refused, not compiled, bad options); 2 for usage errors.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "wasmshim/otel/instrument.h"
#include "wasmshim/runtime/module_run.h"

#if WASMSHIM_OPENTELEMETRY
#include "wasmshim/otel/session.h"
#endif
#include "wasmshim/wasm/engine.h"
#include "wasmshim/wasm/module.h"

namespace {

using namespace wasmshim::wasm;

constexpr int kUsageStatus = 2;

int usage(const char* message) {
  if (message != nullptr) {
    std::fprintf(stderr, "wasmshim: %s\n", message);
  }
  std::fprintf(
      stderr,
      "usage: wasmshim run [--tier jit|aot|auto|baseline] [--dir HOST[::GUEST]]... [--env "
      "KEY=VALUE]...\n"
      "                    app.wasm [args...]\n"
      "       wasmshim compile app.wasm\n"
      "       wasmshim image -o OUT.tar --name REF [--path /IN/IMAGE.wasm] app.wasm\n"
      "       wasmshim otlp-receiver [--http HOST:PORT] [--grpc HOST:PORT] [--jsonl FILE]\n");
  return kUsageStatus;
}

// The engine's log: what it says beside errors (a cache it cannot write, a
// module that stays on jit), on stderr like the CLI's own messages.
void log_to_stderr(std::string_view line) {
  std::fprintf(stderr, "wasmshim: %.*s\n", static_cast<int>(line.size()), line.data());
}

struct RunCommand {
  EngineOptions engine;
  WasiConfig wasi;
  std::string module_path;
};

// Parses options up to the module path; everything after it goes to the guest.
bool parse_run(int argc, char** argv, RunCommand& out, std::string& error) {
  int i = 0;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        error = std::string(flag) + " needs a value";
        return nullptr;
      }
      return argv[++i];
    };
    if (arg == "--tier") {
      const char* v = value("--tier");
      if (v == nullptr) {
        return false;
      }
      try {
        out.engine.tier = parse_tier(v);
      } catch (const std::invalid_argument& e) {
        error = e.what();
        return false;
      }
    } else if (arg == "--dir") {
      const char* v = value("--dir");
      if (v == nullptr) {
        return false;
      }
      std::string spec = v;
      auto sep = spec.find("::");
      Preopen preopen{spec.substr(0, sep), sep == std::string::npos ? spec : spec.substr(sep + 2)};
      if (preopen.host_path.empty() || preopen.guest_path.empty()) {
        error = "--dir " + spec + ": expected HOST or HOST::GUEST";
        return false;
      }
      out.wasi.preopens.push_back(preopen);
    } else if (arg == "--env") {
      const char* v = value("--env");
      if (v == nullptr) {
        return false;
      }
      if (std::strchr(v, '=') == nullptr || v[0] == '=') {
        error = std::string("--env ") + v + ": expected KEY=VALUE";
        return false;
      }
      out.wasi.env.emplace_back(v);
    } else if (arg.rfind("--", 0) == 0) {
      error = "unknown option " + arg;
      return false;
    } else {
      break;
    }
  }
  if (i >= argc) {
    error = "no module given";
    return false;
  }
  out.module_path = argv[i];
  for (; i < argc; ++i) {
    out.wasi.args.emplace_back(argv[i]);
  }
  return true;
}

int run_command(int argc, char** argv) {
  // Traced when the environment asks (the seed's rule); spans leave before
  // exit, within the export timeout.
#if WASMSHIM_OPENTELEMETRY
  wasmshim::otel::TracingSession tracing(
      {{"", WASMSHIM_VERSION}, std::nullopt, wasmshim::otel::stderr_diagnostic_log(), -1});
  wasmshim::trace::ScopedSpan span(
      "wasmshim.cli", "wasmshim run", wasmshim::trace::Kind::internal,
      wasmshim::trace::Parent{wasmshim::otel::context_from_environment()});
#else
  wasmshim::trace::ScopedSpan span("wasmshim.cli", "wasmshim run");
#endif
  RunCommand command;
  command.engine.cache_dir = default_cache_dir();
  command.engine.log = log_to_stderr;
  std::string error;
  if (!parse_run(argc, argv, command, error)) {
    return usage(error.c_str());
  }
  wasmshim::runtime::ModuleRun module_run{command.module_path, {}};
  return wasmshim::runtime::run_module(module_run, span, [&](wasmshim::runtime::ModuleRun&) {
    const PreparedModule prepared = prepare_file(command.module_path, command.engine);
    const RunResult result = run(prepared, command.wasi, command.engine);
    return wasmshim::runtime::ModuleOutcome{result.exit_code, result.trap};
  });
}

int compile_command(int argc, char** argv) {
  if (argc != 1) {
    return usage("compile takes one module");
  }
  EngineOptions options;
  options.cache_dir = default_cache_dir();
  options.log = log_to_stderr;
  try {
    Module module = Module::from_file(argv[0]);
    std::string path = precompile(module, options);
    std::printf("%s\n", path.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wasmshim: %s\n", e.what());
    return wasmshim::runtime::kCannotRun;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    return usage(nullptr);
  }
  std::string command = argv[1];
  if (command == "run") {
    return run_command(argc - 2, argv + 2);
  }
  if (command == "compile") {
    return compile_command(argc - 2, argv + 2);
  }
  if (command == "image") {
    return wasmshim::cmd::image_command(argc - 2, argv + 2);
  }
  if (command == "otlp-receiver") {
    return wasmshim::cmd::otlp_receiver_command(argc - 2, argv + 2);
  }
  if (command == "-h" || command == "--help" || command == "help") {
    usage(nullptr);
    return 0;
  }
  return usage(("unknown command " + command).c_str());
}
