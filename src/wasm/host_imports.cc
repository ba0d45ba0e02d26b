#include "host_imports.h"

#include "wasi/functions.h"
#include "wasmshim/wasm/engine.h"

namespace wasmshim::wasm {
std::vector<void*> host_functions_for(const std::string& name,
                                      const std::vector<FunctionImport>& function_imports,
                                      const std::vector<std::string>& other_imports,
                                      bool exports_memory) {
  if (!other_imports.empty()) {
    throw ModuleError(name, 0,
                      "imports " + other_imports.front() + ", but only functions of " +
                          kWasiModule + " can be imported");
  }
  std::vector<void*> imports;
  for (const FunctionImport& import : function_imports) {
    const wasi::HostFunction* host =
        import.module == kWasiModule ? wasi::find_function(import.name) : nullptr;
    if (host == nullptr) {
      throw ModuleError(name, 0,
                        "imports " + import.module + "." + import.name + ", which is not provided");
    }
    if (!(host->type == import.type)) {
      throw ModuleError(name, 0,
                        "imports " + import.module + "." + import.name + " as " +
                            to_string(import.type) + ", but its type is " + to_string(host->type));
    }
    imports.push_back(host->address);
  }
  if (!imports.empty() && !exports_memory) {
    throw ModuleError(name, 0, "imports WASI functions but exports no memory for them to use");
  }
  return imports;
}

void check_imports(const std::string& name, const ModuleOutline& outline) {
  (void)host_functions_for(name, outline.function_imports, outline.other_imports,
                           outline.exports_memory);
}

}  // namespace wasmshim::wasm
