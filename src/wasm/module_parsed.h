// Private: the wabt IR behind a Module, shared by module.cc and the translator.
#pragma once

#include <wabt/ir.h>

#include "wasmshim/wasm/module.h"

namespace wasmshim::wasm {

struct Module::Parsed {
  wabt::Module ir;
};

}  // namespace wasmshim::wasm
