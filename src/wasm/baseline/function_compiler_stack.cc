// The baseline compiler's operand stack: values in registers while they
// can be, each spilled to the slot of its own depth when registers run out
// or a control-flow boundary needs every value in memory.
#include <algorithm>

#include "function_compiler_state.h"

namespace wasmshim::wasm::baseline {
namespace {

using x64::Reg;

// r11 is the scratch register (never holds a stack value); r14 holds the
// instance, rbp the frame, rsp the machine stack.
constexpr std::array<Reg, 12> kAllocatable = {Reg::kRax, Reg::kRcx, Reg::kRdx, Reg::kRbx,
                                              Reg::kRsi, Reg::kRdi, Reg::kR8,  Reg::kR9,
                                              Reg::kR10, Reg::kR12, Reg::kR13, Reg::kR15};
constexpr Reg kScratch = Reg::kR11;
// xmm15 is the floating-point scratch register.
constexpr unsigned kAllocatableXmm = 15;

std::uint32_t bit(Reg reg) {
  return std::uint32_t{1} << static_cast<unsigned>(reg);
}
std::uint32_t bit(x64::Xmm reg) {
  return std::uint32_t{1} << static_cast<unsigned>(reg);
}

}  // namespace

ValueKind value_kind(wabt::Type type) {
  switch (type) {
    case wabt::Type::I32:
      return ValueKind::kI32;
    case wabt::Type::I64:
      return ValueKind::kI64;
    case wabt::Type::F32:
      return ValueKind::kF32;
    case wabt::Type::F64:
      return ValueKind::kF64;
    case wabt::Type::FuncRef:
    case wabt::Type::ExternRef:
      return ValueKind::kRef;
    default:
      throw UnsupportedByBaseline(std::string("values of type ") + type.GetName());
  }
}

x64::Mem FunctionCompiler::local_mem(std::uint32_t index) const {
  if (index < params_) {
    return x64::mem(Reg::kRbp, static_cast<std::int32_t>(16 + 8 * (argument_area_ - 1 - index)));
  }
  return x64::mem(Reg::kRbp, -static_cast<std::int32_t>(8 * (index - params_ + 1)));
}

x64::Mem FunctionCompiler::slot_mem(std::size_t depth) const {
  return x64::mem(Reg::kRbp, -static_cast<std::int32_t>(8 * (extra_locals_ + depth + 1)));
}

ValueKind FunctionCompiler::local_kind(std::uint32_t index) const {
  return local_kinds_.at(index);
}

void FunctionCompiler::note_depth(std::size_t depth) {
  max_depth_ = std::max(max_depth_, depth);
}

void FunctionCompiler::push_const(ValueKind kind, std::uint64_t bits) {
  StackValue value;
  value.kind = kind;
  value.where = Where::kConst;
  value.bits = bits;
  stack_.push_back(value);
  note_depth(stack_.size());
}

void FunctionCompiler::push_gpr(ValueKind kind, Reg reg) {
  StackValue value;
  value.kind = kind;
  value.where = Where::kGpr;
  value.gpr = reg;
  gpr_owner_.at(static_cast<std::size_t>(reg)) = static_cast<int>(stack_.size());
  held_ &= ~bit(reg);
  stack_.push_back(value);
  note_depth(stack_.size());
}

void FunctionCompiler::push_xmm(ValueKind kind, x64::Xmm reg) {
  StackValue value;
  value.kind = kind;
  value.where = Where::kXmm;
  value.xmm = reg;
  xmm_owner_.at(static_cast<std::size_t>(reg)) = static_cast<int>(stack_.size());
  held_xmm_ &= ~bit(reg);
  stack_.push_back(value);
  note_depth(stack_.size());
}

void FunctionCompiler::push_slot(ValueKind kind) {
  StackValue value;
  value.kind = kind;
  value.where = Where::kSlot;
  stack_.push_back(value);
  note_depth(stack_.size());
}

void FunctionCompiler::push_local(std::uint32_t index) {
  StackValue value;
  value.kind = local_kind(index);
  value.where = Where::kLocal;
  value.local = index;
  stack_.push_back(value);
  note_depth(stack_.size());
}

StackValue FunctionCompiler::pop() {
  StackValue value = stack_.back();
  stack_.pop_back();
  if (value.where == Where::kGpr) {
    gpr_owner_.at(static_cast<std::size_t>(value.gpr)) = -1;
    held_ |= bit(value.gpr);
  } else if (value.where == Where::kXmm) {
    xmm_owner_.at(static_cast<std::size_t>(value.xmm)) = -1;
    held_xmm_ |= bit(value.xmm);
  }
  return value;
}

Reg FunctionCompiler::alloc_gpr() {
  for (Reg reg : kAllocatable) {
    if (gpr_owner_.at(static_cast<std::size_t>(reg)) < 0 && (held_ & bit(reg)) == 0) {
      held_ |= bit(reg);
      return reg;
    }
  }
  // Every register holds a value: the deepest goes to its slot.
  for (std::size_t depth = 0; depth < stack_.size(); ++depth) {
    if (stack_[depth].where == Where::kGpr) {
      const Reg reg = stack_[depth].gpr;
      spill_value(depth);
      held_ |= bit(reg);
      return reg;
    }
  }
  unsupported("an instruction needing more registers than there are");
}

Reg FunctionCompiler::claim_gpr(Reg wanted) {
  const int owner = gpr_owner_.at(static_cast<std::size_t>(wanted));
  if (owner >= 0) {
    spill_value(static_cast<std::size_t>(owner));
  }
  held_ |= bit(wanted);
  return wanted;
}

void FunctionCompiler::load_value(const StackValue& value, std::size_t depth, Reg reg,
                                  x64::Size size) {
  switch (value.where) {
    case Where::kGpr:
      if (value.gpr != reg) {
        as_.mov(x64::Size::k64, reg, value.gpr);
      }
      return;
    case Where::kConst:
      as_.mov_imm(size, reg, value.bits);
      return;
    case Where::kLocal:
      as_.mov(size, reg, local_mem(value.local));
      return;
    case Where::kSlot:
      as_.mov(size, reg, slot_mem(depth));
      return;
    case Where::kXmm:
      break;
  }
  unsupported("floating-point values");
}

x64::Xmm FunctionCompiler::alloc_xmm() {
  for (unsigned i = 0; i < kAllocatableXmm; ++i) {
    const auto reg = static_cast<x64::Xmm>(i);
    if (xmm_owner_.at(i) < 0 && (held_xmm_ & bit(reg)) == 0) {
      held_xmm_ |= bit(reg);
      return reg;
    }
  }
  for (std::size_t depth = 0; depth < stack_.size(); ++depth) {
    if (stack_[depth].where == Where::kXmm) {
      const x64::Xmm reg = stack_[depth].xmm;
      spill_value(depth);
      held_xmm_ |= bit(reg);
      return reg;
    }
  }
  unsupported("an instruction needing more registers than there are");
}

// `value` was just popped: a kSlot value is in the slot at the new height.
x64::Xmm FunctionCompiler::into_xmm(const StackValue& value) {
  const x64::Fp type = fp_type(value.kind);
  switch (value.where) {
    case Where::kXmm:
      return value.xmm;
    case Where::kConst: {
      const x64::Xmm reg = alloc_xmm();
      as_.mov_imm(int_size(value.kind == ValueKind::kF64 ? ValueKind::kI64 : ValueKind::kI32),
                  kScratch, value.bits);
      as_.movd(type == x64::Fp::kF64 ? x64::Size::k64 : x64::Size::k32, reg, kScratch);
      return reg;
    }
    case Where::kSlot: {
      const x64::Xmm reg = alloc_xmm();
      as_.movf(type, reg, slot_mem(stack_.size()));
      return reg;
    }
    case Where::kLocal: {
      const x64::Xmm reg = alloc_xmm();
      as_.movf(type, reg, local_mem(value.local));
      return reg;
    }
    case Where::kGpr:
      break;
  }
  unsupported("a floating-point value held as an integer");
}

x64::Xmm FunctionCompiler::pop_xmm() {
  return into_xmm(pop());
}

FunctionCompiler::FloatOperand FunctionCompiler::pop_float_operand() {
  const StackValue value = pop();
  FloatOperand operand;
  if (value.where == Where::kSlot) {
    operand.in_memory = true;
    operand.mem = slot_mem(stack_.size());
  } else if (value.where == Where::kLocal) {
    operand.in_memory = true;
    operand.mem = local_mem(value.local);
  } else {
    operand.reg = into_xmm(value);
  }
  return operand;
}

// `value` was just popped: a kSlot value is in the slot at the new height.
Reg FunctionCompiler::into_gpr(const StackValue& value) {
  if (value.where == Where::kGpr) {
    return value.gpr;
  }
  if (value.where == Where::kXmm) {
    unsupported("floating-point values");
  }
  const Reg reg = alloc_gpr();
  load_value(value, stack_.size(), reg, int_size(value.kind));
  return reg;
}

Reg FunctionCompiler::pop_gpr() {
  return into_gpr(pop());
}

Operand FunctionCompiler::pop_operand(bool allow_imm, bool allow_mem) {
  const StackValue value = pop();
  Operand operand;
  if (allow_imm && value.where == Where::kConst) {
    const auto signed_value =
        value.kind == ValueKind::kI64
            ? static_cast<std::int64_t>(value.bits)
            : static_cast<std::int64_t>(static_cast<std::int32_t>(value.bits));
    if (x64::fits_int32(signed_value)) {
      operand.form = Operand::Form::kImm;
      operand.imm = static_cast<std::int32_t>(signed_value);
      return operand;
    }
  }
  if (allow_mem && value.where == Where::kSlot) {
    operand.form = Operand::Form::kMem;
    operand.mem = slot_mem(stack_.size());
    return operand;
  }
  if (allow_mem && value.where == Where::kLocal) {
    operand.form = Operand::Form::kMem;
    operand.mem = local_mem(value.local);
    return operand;
  }
  operand.form = Operand::Form::kReg;
  operand.reg = into_gpr(value);
  return operand;
}

void FunctionCompiler::copy_qword(const x64::Mem& from, const x64::Mem& to) {
  as_.mov(x64::Size::k64, kScratch, from);
  as_.mov(x64::Size::k64, to, kScratch);
}

void FunctionCompiler::spill_value(std::size_t depth) {
  StackValue& value = stack_.at(depth);
  const x64::Mem slot = slot_mem(depth);
  switch (value.where) {
    case Where::kSlot:
      return;
    case Where::kGpr:
      as_.mov(x64::Size::k64, slot, value.gpr);
      gpr_owner_.at(static_cast<std::size_t>(value.gpr)) = -1;
      break;
    case Where::kConst: {
      const bool wide = value.kind == ValueKind::kI64 || value.kind == ValueKind::kF64 ||
                        value.kind == ValueKind::kRef;
      const auto as_signed = static_cast<std::int64_t>(value.bits);
      if (!wide) {
        as_.mov_imm(x64::Size::k32, slot, static_cast<std::int32_t>(value.bits));
      } else if (x64::fits_int32(as_signed)) {
        as_.mov_imm(x64::Size::k64, slot, static_cast<std::int32_t>(as_signed));
      } else {
        as_.mov_imm(x64::Size::k64, kScratch, value.bits);
        as_.mov(x64::Size::k64, slot, kScratch);
      }
      break;
    }
    case Where::kLocal:
      copy_qword(local_mem(value.local), slot);
      break;
    case Where::kXmm:
      as_.movf(fp_type(value.kind), slot, value.xmm);
      xmm_owner_.at(static_cast<std::size_t>(value.xmm)) = -1;
      break;
  }
  value.where = Where::kSlot;
}

void FunctionCompiler::spill_all() {
  for (std::size_t depth = 0; depth < stack_.size(); ++depth) {
    spill_value(depth);
  }
}

void FunctionCompiler::reset_to_slots(std::size_t height, const std::vector<ValueKind>& kinds) {
  stack_.resize(height);
  gpr_owner_.fill(-1);
  xmm_owner_.fill(-1);
  for (ValueKind kind : kinds) {
    push_slot(kind);
  }
}

void FunctionCompiler::settle_local(std::uint32_t index) {
  for (std::size_t depth = 0; depth < stack_.size(); ++depth) {
    if (stack_[depth].where == Where::kLocal && stack_[depth].local == index) {
      spill_value(depth);
    }
  }
}

}  // namespace wasmshim::wasm::baseline
