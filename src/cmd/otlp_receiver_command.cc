// wasmshim otlp-receiver: receives OTLP traces and prints them as trees.
//
// Listens on 127.0.0.1:4318 (HTTP) and 127.0.0.1:4317 (gRPC) unless told
// otherwise; the first line on stdout says where, for scripts. Runs until
// SIGINT or SIGTERM, then prints what is still pending.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "commands.h"
#include "wasmshim/otel/receiver.h"

namespace wasmshim::cmd {
namespace {

constexpr int kUsageStatus = 2;

int receiver_usage(const std::string& message) {
  std::fprintf(stderr,
               "wasmshim otlp-receiver: %s\n"
               "usage: wasmshim otlp-receiver [--http HOST:PORT] [--grpc HOST:PORT] "
               "[--jsonl FILE] [--quiet-ms N]\n",
               message.c_str());
  return kUsageStatus;
}

}  // namespace

int otlp_receiver_command(int argc, char** argv) {
  otel::ReceiverOptions options;
  bool chosen = false;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      return receiver_usage(arg + " needs a value");
    }
    const std::string value = argv[++i];
    if (arg == "--http") {
      options.http_address = value;
      chosen = true;
    } else if (arg == "--grpc") {
      options.grpc_address = value;
      chosen = true;
    } else if (arg == "--jsonl") {
      options.jsonl_path = value;
    } else if (arg == "--quiet-ms") {
      char* end = nullptr;
      long ms = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || ms < 0) {
        return receiver_usage("--quiet-ms takes a number of milliseconds, not '" + value + "'");
      }
      options.quiet_period = std::chrono::milliseconds(ms);
    } else {
      return receiver_usage("unknown option " + arg);
    }
  }
  if (!chosen) {
    options.http_address = "127.0.0.1:4318";
    options.grpc_address = "127.0.0.1:4317";
  }
  // Block the stop signals before any server thread starts, so they all
  // inherit the mask and only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    otel::OtlpReceiver receiver(options);
    std::printf("listening http=%d grpc=%d\n", receiver.http_port(), receiver.grpc_port());
    std::fflush(stdout);
    std::fprintf(stderr, "wasmshim otlp-receiver: OTLP/HTTP %s, OTLP/gRPC %s; Ctrl-C to stop\n",
                 options.http_address.empty() ? "off" : options.http_address.c_str(),
                 options.grpc_address.empty() ? "off" : options.grpc_address.c_str());
    int signal = 0;
    sigwait(&stop_signals, &signal);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wasmshim otlp-receiver: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace wasmshim::cmd
