// containerd-shim-wasmshim-v1: the containerd runtime io.containerd.wasmshim.v1.
#include <optional>
#include <string>

#include "wasm_instance.h"
#include "wasmshim/shim/shim_main.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == wasmshim::cmd::kContainerModeFlag) {
    return wasmshim::cmd::WasmInstance::container_main(argc, argv);
  }
  return wasmshim::shim_main<wasmshim::cmd::WasmInstance>("wasmshim", WASMSHIM_VERSION,
                                                          WASMSHIM_REVISION, "v1", std::nullopt);
}
