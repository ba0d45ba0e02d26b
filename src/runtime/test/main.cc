// The runtime tests' main: in container mode this binary is the container's
// process, as the shim binary is under containerd, so the tests drive the
// Instance exactly as the shim does.
#include <gtest/gtest.h>

#include <string_view>

#include "wasmshim/runtime/container_instance.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == wasmshim::runtime::kContainerModeFlag) {
    return wasmshim::runtime::ContainerInstance::container_main(argc, argv);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
