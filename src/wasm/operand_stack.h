// Private: the types on a function's operand stack while a pass walks its
// body in order, enough to tell what a `drop` or `select` takes.
#pragma once

#include <wabt/ir.h>
#include <wabt/opcode.h>

#include <cstddef>
#include <vector>

namespace wasmshim::wasm {

// The operands an instruction from wabt's opcode table takes.
std::vector<wabt::Type> opcode_params(wabt::Opcode opcode);

// The opcode of a unary, binary, ternary, compare or convert instruction.
wabt::Opcode operation_opcode(const wabt::Expr& expr);

class OperandStack {
 public:
  // A fresh function body.
  void reset();

  void push(wabt::Type type) { types_.push_back(type); }
  void push_all(const wabt::TypeVector& types);
  // Type::Any in unreachable code, where the stack is polymorphic.
  wabt::Type pop();
  void pop_n(std::size_t n);

  // A block, loop or if arm begins with `params` on its own stack; when it
  // ends, its `results` are left on the outer one.
  void enter(const wabt::TypeVector& params);
  void leave(const wabt::TypeVector& results);
  // After br, br_table, return or unreachable.
  void set_unreachable();

  // The stack effect of an instruction a pass leaves as it is. Throws
  // std::invalid_argument for an instruction of a proposal the engine does
  // not enable (its effect is not modelled).
  void apply(const wabt::Expr& expr);

 private:
  std::vector<wabt::Type> types_;
  std::vector<std::size_t> frame_heights_{0};
};

}  // namespace wasmshim::wasm
