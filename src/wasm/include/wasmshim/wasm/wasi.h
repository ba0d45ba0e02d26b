// What a guest sees of the world through WASI preview 1: its arguments,
// environment, standard streams and preopened directories.
#pragma once

#include <string>
#include <vector>

namespace wasmshim::wasm {

struct Preopen {
  std::string host_path;   // directory on the host
  std::string guest_path;  // the name the guest sees, e.g. "/" or "/data"
};

struct WasiConfig {
  std::vector<std::string> args;  // args[0] is the program name
  std::vector<std::string> env;   // "KEY=VALUE"
  std::vector<Preopen> preopens;
  // Host descriptors for the guest's fds 0, 1 and 2 (not closed by the engine).
  int stdin_fd = 0;
  int stdout_fd = 1;
  int stderr_fd = 2;
};

}  // namespace wasmshim::wasm
