#include "operand_stack.h"

#include <wabt/cast.h>

#include <stdexcept>
#include <string>

namespace wasmshim::wasm {

std::vector<wabt::Type> opcode_params(wabt::Opcode opcode) {
  std::vector<wabt::Type> params;
  for (int k = 1; k <= 3; ++k) {
    if (opcode.GetParamType(k) != wabt::Type::Void) {
      params.push_back(opcode.GetParamType(k));
    }
  }
  return params;
}

wabt::Opcode operation_opcode(const wabt::Expr& expr) {
  switch (expr.type()) {
    case wabt::ExprType::Binary:
      return wabt::cast<wabt::BinaryExpr>(&expr)->opcode;
    case wabt::ExprType::Compare:
      return wabt::cast<wabt::CompareExpr>(&expr)->opcode;
    case wabt::ExprType::Convert:
      return wabt::cast<wabt::ConvertExpr>(&expr)->opcode;
    case wabt::ExprType::Unary:
      return wabt::cast<wabt::UnaryExpr>(&expr)->opcode;
    default:
      return wabt::cast<wabt::TernaryExpr>(&expr)->opcode;
  }
}

void OperandStack::reset() {
  types_.clear();
  frame_heights_.assign(1, 0);
}

void OperandStack::push_all(const wabt::TypeVector& types) {
  for (wabt::Type type : types) {
    push(type);
  }
}

wabt::Type OperandStack::pop() {
  if (types_.size() > frame_heights_.back()) {
    wabt::Type type = types_.back();
    types_.pop_back();
    return type;
  }
  return wabt::Type::Any;
}

void OperandStack::pop_n(std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    pop();
  }
}

void OperandStack::enter(const wabt::TypeVector& params) {
  frame_heights_.push_back(types_.size());
  push_all(params);
}

void OperandStack::leave(const wabt::TypeVector& results) {
  types_.resize(frame_heights_.back());
  frame_heights_.pop_back();
  push_all(results);
}

void OperandStack::set_unreachable() {
  types_.resize(frame_heights_.back());
}

void OperandStack::apply(const wabt::Expr& expr) {
  using wabt::ExprType;
  switch (expr.type()) {
    case ExprType::Binary:
    case ExprType::Compare:
    case ExprType::Convert:
    case ExprType::Unary:
    case ExprType::Ternary: {
      const wabt::Opcode opcode = operation_opcode(expr);
      pop_n(opcode_params(opcode).size());
      push(opcode.GetResultType());
      break;
    }
    case ExprType::Load:
      pop();
      push(wabt::cast<wabt::LoadExpr>(&expr)->opcode.GetResultType());
      break;
    case ExprType::Store:
      pop_n(2);
      break;
    case ExprType::Br:
    case ExprType::Return:
    case ExprType::Unreachable:
      set_unreachable();
      break;
    case ExprType::BrTable:
      pop();
      set_unreachable();
      break;
    case ExprType::BrIf:  // the condition; the branch's values stay
      pop();
      break;
    case ExprType::RefIsNull:
    case ExprType::MemoryGrow:
      pop();
      push(wabt::Type::I32);
      break;
    case ExprType::MemorySize:
    case ExprType::TableSize:
    case ExprType::RefNull:
    case ExprType::RefFunc:
      push(wabt::Type::I32);  // any type but v128 will do for a pass that asks
      break;
    case ExprType::TableGet:
      pop();
      push(wabt::Type::I32);
      break;
    case ExprType::TableSet:
      pop_n(2);
      break;
    case ExprType::TableGrow:
      pop_n(2);
      push(wabt::Type::I32);
      break;
    case ExprType::MemoryFill:
    case ExprType::MemoryCopy:
    case ExprType::MemoryInit:
    case ExprType::TableFill:
    case ExprType::TableCopy:
    case ExprType::TableInit:
      pop_n(3);
      break;
    case ExprType::Nop:
    case ExprType::DataDrop:
    case ExprType::ElemDrop:
      break;
    default:
      throw std::invalid_argument(std::string("the instruction ") + wabt::GetExprTypeName(expr) +
                                  " is not supported here");
  }
}

}  // namespace wasmshim::wasm
