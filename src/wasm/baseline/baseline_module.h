// Private: a whole module through the baseline compiler: its functions in
// one executable mapping, and the instance they run against.
#pragma once

#include <memory>

#include "../compiled_module.h"
#include "wasmshim/wasm/module.h"

namespace wasmshim::wasm::baseline {

// Compiles every function of `module` to x86-64. Throws
// UnsupportedByBaseline (function_compiler.h) for what the tier does not
// compile yet, naming it; nothing of `module` is kept but copies of what
// instantiation needs.
std::unique_ptr<CompiledModule> compile_module(const Module& module);

}  // namespace wasmshim::wasm::baseline
