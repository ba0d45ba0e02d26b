// containerd-shim-wasmshim-v1: the containerd runtime io.containerd.wasmshim.v1.
#include <malloc.h>

#include <optional>
#include <string>

#include "wasmshim/runtime/container_instance.h"
#include "wasmshim/shim/shim_main.h"

int main(int argc, char** argv) {
  // One malloc arena for every thread. The daemon's few threads each
  // carry a request at a time; an arena of their own apiece costs fresh
  // pages (a fault each) in every shim and buys no throughput.
  // NOLINTNEXTLINE(concurrency-mt-unsafe): before any thread exists.
  ::mallopt(M_ARENA_MAX, 1);
  if (argc >= 2 && std::string(argv[1]) == wasmshim::runtime::kContainerModeFlag) {
    return wasmshim::runtime::ContainerInstance::container_main(argc, argv);
  }
  return wasmshim::shim_main<wasmshim::runtime::ContainerInstance>(
      "wasmshim", WASMSHIM_VERSION, WASMSHIM_REVISION, "v1", std::nullopt);
}
