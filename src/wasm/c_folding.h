// Private: folds wasm2c's stack temporaries into expressions for tcc.
#pragma once

#include <string>

namespace wasmshim::wasm {

// wasm2c writes one statement per wasm instruction, each value passing
// through a stack temporary (w2c_i0, w2c_j1, ...). tcc keeps every variable
// in memory, so each of those is a store and a load. This pass substitutes a
// temporary's defining expression into the statement right after it when
// that is safe:
//   - the definition has no side effect and cannot trap, except as a load
//     does (temporaries, locals, literals, operators, casts, rotations,
//     reinterpretations, loads): moved into the next statement, a load still
//     happens before that statement's store or call, and before any later
//     one;
//   - the next statement is on the same path (no label between) and reads
//     the temporary once, before any '{', so it consumes it (a copy
//     `x = w2c_i0;` may be a local.tee, which keeps the value: not folded);
//   - an argument a macro evaluates twice only receives a plain name.
// `t op= e` after `t = a` becomes `t = (a) op (e)`. The result computes the
// same values with fewer stores (jit 1.5-2.5x faster); cc, which allocates
// registers itself, compiles it to the same code and reads less text.
std::string fold_stack_temporaries(const std::string& c_source);

}  // namespace wasmshim::wasm
