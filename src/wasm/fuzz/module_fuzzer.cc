// libFuzzer target: arbitrary bytes as a module. Reading, validating,
// translating to C and compiling with the baseline tier must never crash or
// hang the host; a bad module is a ModuleError, one the baseline tier does
// not compile an UnsupportedByBaseline, and nothing else. The outline a container's Create reads
// must never refuse what the full read accepts, nor disagree with it on imports.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "../baseline/baseline_module.h"
#include "../baseline/function_compiler.h"
#include "../c_translation.h"
#include "wasmshim/wasm/module.h"

namespace {

using namespace wasmshim::wasm;

std::optional<ModuleOutline> outline_of(const std::uint8_t* data, std::size_t size) {
  const int fd = ::memfd_create("fuzz.wasm", MFD_CLOEXEC);
  if (fd < 0 || ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    std::abort();
  }
  std::optional<ModuleOutline> outline;
  try {
    outline = read_module_outline(fd, "fuzz.wasm");
  } catch (const ModuleError&) {
  }
  ::close(fd);
  return outline;
}

constexpr std::size_t kFuzzPartBytes = 256;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::optional<ModuleOutline> outline = outline_of(data, size);
  try {
    Module module = Module::from_bytes("fuzz.wasm", std::vector<std::uint8_t>(data, data + size));
    if (!outline || outline->function_imports.size() != module.function_imports().size() ||
        outline->other_imports != module.other_imports() ||
        outline->exports_memory != module.exports_memory()) {
      std::abort();  // Create would refuse, or judge differently, a module the engine runs
    }
    // Small parts, so that the partition sees functions of every shape.
    const std::string c = translate_to_c(module, kFuzzPartBytes);
    if (c.find("WASMSHIM_IN_PART(") == std::string::npos) {
      std::abort();  // no part of the translation holds the glue
    }
    try {
      (void)baseline::compile_module(module);
    } catch (const baseline::UnsupportedByBaseline&) {
      // a module shape or instruction the tier refuses by name
    }
  } catch (const ModuleError&) {
    // refused with a message: the expected outcome for most inputs
  }
  return 0;
}
