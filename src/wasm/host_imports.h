// Private: what the host gives a module's imports.
#pragma once

#include <string>
#include <vector>

#include "wasmshim/wasm/module.h"

namespace wasmshim::wasm {

// The one import module the host provides.
inline constexpr const char* kWasiModule = "wasi_snapshot_preview1";

// The host function for each function import, in order. Throws ModuleError
// naming `name` for any import but a WASI preview 1 function the host has
// with the same type, and for WASI imports without an exported memory.
std::vector<void*> host_functions_for(const std::string& name,
                                      const std::vector<FunctionImport>& function_imports,
                                      const std::vector<std::string>& other_imports,
                                      bool exports_memory);

}  // namespace wasmshim::wasm
