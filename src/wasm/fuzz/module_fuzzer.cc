// libFuzzer target: arbitrary bytes as a module. Reading, validating and
// translating to C must never crash or hang the host; a bad module is a
// ModuleError and nothing else.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../c_translation.h"
#include "wasmshim/wasm/module.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wasmshim::wasm;
  try {
    Module module = Module::from_bytes("fuzz.wasm", std::vector<std::uint8_t>(data, data + size));
    std::string c = translate_to_c(module);
    (void)c;
  } catch (const ModuleError&) {
    // refused with a message: the expected outcome for most inputs
  }
  return 0;
}
