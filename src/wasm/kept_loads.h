// Private: keeps loads whose value is dropped, so that they still trap.
#pragma once

namespace wabt {
struct Module;
}

namespace wasmshim::wasm {

// Linear memory's bounds check is the fault on its guard pages, and the
// system compiler removes a load whose value is never used, and with it the
// trap. `load; drop` (the usual way wasm reads only for the check) becomes
// `load; global.set $sink`, a store the compiler has to keep. A load whose
// value feeds only other dead computations is not covered. Runs before the
// SIMD lowering, which splits a v128 sink like any v128 global.
void keep_dropped_loads(wabt::Module& module);

}  // namespace wasmshim::wasm
