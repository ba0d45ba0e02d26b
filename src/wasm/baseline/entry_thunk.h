// Private: the door from C++ into code the baseline compiler made.
#pragma once

#include <cstddef>
#include <cstdint>

#include "x64_assembler.h"

namespace wasmshim::wasm::baseline {

// Calls `function` (compiled code, function_compiler.h conventions) for
// `instance`. `area` holds the function's argument area as the callee sees
// it from rsp up: slot j is area[j], so argument k of a function with n
// slots is area[n - 1 - k]; the results are there afterwards, the same way.
// Saves and restores what the SysV ABI asks a callee to keep.
using EntryThunk = void (*)(void* instance, std::uint64_t* area, std::size_t slots,
                            const void* function);

// Emits the thunk at `entry`.
void emit_entry_thunk(x64::Assembler& assembler, x64::Label entry);

}  // namespace wasmshim::wasm::baseline
