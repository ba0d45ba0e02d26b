// Private: appending instructions to a wabt expression list, for the passes
// that rewrite a module before translation.
#pragma once

#include <wabt/ir.h>

#include <cstdint>
#include <memory>
#include <utility>

namespace wasmshim::wasm::ir {

template <typename ExprT, typename... Args>
void emit(wabt::ExprList& out, Args&&... args) {
  out.push_back(std::make_unique<ExprT>(std::forward<Args>(args)...));
}
inline wabt::Var var(wabt::Index index) {
  return wabt::Var(index, wabt::Location());
}
inline void local_get(wabt::ExprList& out, wabt::Index index) {
  emit<wabt::LocalGetExpr>(out, var(index));
}
inline void local_set(wabt::ExprList& out, wabt::Index index) {
  emit<wabt::LocalSetExpr>(out, var(index));
}
inline void i32_const(wabt::ExprList& out, std::uint64_t value) {
  emit<wabt::ConstExpr>(out, wabt::Const::I32(static_cast<std::uint32_t>(value)));
}
inline void i64_const(wabt::ExprList& out, std::uint64_t value) {
  emit<wabt::ConstExpr>(out, wabt::Const::I64(value));
}
inline void load(wabt::ExprList& out, wabt::Opcode opcode, const wabt::Var& memory,
                 wabt::Address offset) {
  emit<wabt::LoadExpr>(out, opcode, memory, opcode.GetMemorySize(), offset);
}
inline void store(wabt::ExprList& out, wabt::Opcode opcode, const wabt::Var& memory,
                  wabt::Address offset) {
  emit<wabt::StoreExpr>(out, opcode, memory, opcode.GetMemorySize(), offset);
}

}  // namespace wasmshim::wasm::ir
