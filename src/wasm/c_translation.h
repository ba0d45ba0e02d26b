// Private: a validated module as one self-contained C translation unit.
#pragma once

#include <cstddef>
#include <string>

#include "wasmshim/wasm/module.h"

namespace wasmshim::wasm {

extern const char* const kCPrelude;
// The SIMD operations a lowered module calls (simd_lowering.h); added to the
// translation only for modules that use them.
extern const char* const kCSimdLibrary;

// Bump when the prelude, the glue or the runtime ABI changes: it is part of
// every cache key.
inline constexpr const char* kTranslationVersion = "wasmshim-c-8";

// The C that wasm2c writes for the module, with the prelude in place of its
// includes and glue functions (abi::k*Symbol) appended, its functions in
// parts of about bytes_per_part (c_partition.h; the first line names the
// count). The glue's import table follows module.function_imports() order.
// Throws ModuleError when the module imports something the host cannot
// provide a slot for.
std::string translate_to_c(const Module& module, std::size_t bytes_per_part);

// The module's function imports as the glue lists them (abi::kImportListSymbol).
std::string import_list(const Module& module);

}  // namespace wasmshim::wasm
