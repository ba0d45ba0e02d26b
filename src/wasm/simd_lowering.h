// Private: rewrites a module that uses SIMD into one that does not, so that
// the C writer of Debian's libwabt (which aborts on any v128) can translate it.
#pragma once

#include <string>
#include <string_view>

namespace wabt {
struct Module;
}

namespace wasmshim::wasm {

// Functions the lowering adds for each SIMD operation it meets are named
// this prefix plus the operation ("i32x4.add" -> "wasmshim_simd_i32x4_add").
// Their bodies are placeholders; the C translation makes each name a macro
// for the function of the same name in kCSimdLibrary.
inline constexpr std::string_view kSimdHelperPrefix = "wasmshim_simd_";

// Every v128 value becomes two i64 values (low and high half) in locals,
// globals, parameters, results, block types and on the operand stack; v128
// memory access becomes i64 access; every other SIMD operation becomes a call
// to a helper function. The module must have been validated with SIMD on.
// Throws ModuleError (naming `file`) for what cannot be lowered: v128 in an
// import, or a v128 global not set by a constant.
void lower_simd(const std::string& file, wabt::Module& module);

}  // namespace wasmshim::wasm
