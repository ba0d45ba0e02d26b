// The baseline compiler's instructions on values: constants, locals,
// globals, integer arithmetic and comparisons, conversions, memory.
#include <wabt/cast.h>

#include "function_compiler_state.h"

namespace wasmshim::wasm::baseline {
namespace {

using wabt::Opcode;
using x64::Cond;
using x64::Reg;
using x64::Size;

constexpr Reg kScratch = Reg::kR11;

Size size_of_opcode(Opcode opcode) {
  return opcode.GetResultType() == wabt::Type::I64 || opcode.GetParamType1() == wabt::Type::I64
             ? Size::k64
             : Size::k32;
}

// The condition an integer comparison sets, by opcode.
bool compare_condition(Opcode opcode, Cond& cond) {
  switch (opcode) {
    case Opcode::I32Eq:
    case Opcode::I64Eq:
      cond = Cond::kE;
      return true;
    case Opcode::I32Ne:
    case Opcode::I64Ne:
      cond = Cond::kNe;
      return true;
    case Opcode::I32LtS:
    case Opcode::I64LtS:
      cond = Cond::kL;
      return true;
    case Opcode::I32LtU:
    case Opcode::I64LtU:
      cond = Cond::kB;
      return true;
    case Opcode::I32GtS:
    case Opcode::I64GtS:
      cond = Cond::kG;
      return true;
    case Opcode::I32GtU:
    case Opcode::I64GtU:
      cond = Cond::kA;
      return true;
    case Opcode::I32LeS:
    case Opcode::I64LeS:
      cond = Cond::kLe;
      return true;
    case Opcode::I32LeU:
    case Opcode::I64LeU:
      cond = Cond::kBe;
      return true;
    case Opcode::I32GeS:
    case Opcode::I64GeS:
      cond = Cond::kGe;
      return true;
    case Opcode::I32GeU:
    case Opcode::I64GeU:
      cond = Cond::kAe;
      return true;
    default:
      return false;
  }
}

}  // namespace

bool FunctionCompiler::compile_operation(const wabt::Expr& expr) {
  switch (expr.type()) {
    case wabt::ExprType::Nop:
      return true;
    case wabt::ExprType::Drop:
      pop();
      return true;
    case wabt::ExprType::Select:
      if (is_float(stack_.at(stack_.size() - 2).kind)) {
        float_select();
      } else {
        select();
      }
      return true;
    case wabt::ExprType::Const: {
      const wabt::Const& value = wabt::cast<wabt::ConstExpr>(&expr)->const_;
      switch (value.type()) {
        case wabt::Type::I32:
          push_const(ValueKind::kI32, value.u32());
          return true;
        case wabt::Type::I64:
          push_const(ValueKind::kI64, value.u64());
          return true;
        case wabt::Type::F32:
          push_const(ValueKind::kF32, value.f32_bits());
          return true;
        case wabt::Type::F64:
          push_const(ValueKind::kF64, value.f64_bits());
          return true;
        default:
          unsupported(std::string("constants of type ") + value.type().GetName());
      }
    }
    case wabt::ExprType::LocalGet:
      push_local(func_.GetLocalIndex(wabt::cast<wabt::LocalGetExpr>(&expr)->var));
      return true;
    case wabt::ExprType::LocalSet:
    case wabt::ExprType::LocalTee: {
      const bool tee = expr.type() == wabt::ExprType::LocalTee;
      const wabt::Index index =
          func_.GetLocalIndex(tee ? wabt::cast<wabt::LocalTeeExpr>(&expr)->var
                                  : wabt::cast<wabt::LocalSetExpr>(&expr)->var);
      settle_local(index);
      const ValueKind kind = local_kind(index);
      if (is_float(kind)) {
        const x64::Xmm reg = pop_xmm();
        as_.movf(fp_type(kind), local_mem(index), reg);
        if (tee) {
          push_xmm(kind, reg);
        }
        return true;
      }
      const StackValue value = pop();
      const Reg reg = into_gpr(value);
      as_.mov(int_size(kind), local_mem(index), reg);
      if (tee) {
        push_gpr(kind, reg);
      }
      return true;
    }
    case wabt::ExprType::GlobalGet: {
      const wabt::Index index = module_.GetGlobalIndex(wabt::cast<wabt::GlobalGetExpr>(&expr)->var);
      const ValueKind kind = value_kind(module_.globals.at(index)->type);
      const x64::Mem global = x64::mem(Reg::kR14, layout_.globals.at(index));
      if (is_float(kind)) {
        const x64::Xmm reg = alloc_xmm();
        as_.movf(fp_type(kind), reg, global);
        push_xmm(kind, reg);
        return true;
      }
      const Reg reg = alloc_gpr();
      as_.mov(int_size(kind), reg, x64::mem(Reg::kR14, layout_.globals.at(index)));
      push_gpr(kind, reg);
      return true;
    }
    case wabt::ExprType::GlobalSet: {
      const wabt::Index index = module_.GetGlobalIndex(wabt::cast<wabt::GlobalSetExpr>(&expr)->var);
      const ValueKind kind = value_kind(module_.globals.at(index)->type);
      if (is_float(kind)) {
        as_.movf(fp_type(kind), x64::mem(Reg::kR14, layout_.globals.at(index)), pop_xmm());
        return true;
      }
      const Reg reg = pop_gpr();
      as_.mov(int_size(kind), x64::mem(Reg::kR14, layout_.globals.at(index)), reg);
      return true;
    }
    case wabt::ExprType::MemorySize: {
      const Reg reg = alloc_gpr();
      as_.mov(Size::k32, reg, x64::mem(Reg::kR14, layout_.memory_pages));
      push_gpr(ValueKind::kI32, reg);
      return true;
    }
    case wabt::ExprType::Load:
      load(*wabt::cast<wabt::LoadExpr>(&expr));
      return true;
    case wabt::ExprType::Store:
      store(*wabt::cast<wabt::StoreExpr>(&expr));
      return true;
    case wabt::ExprType::Binary:
    case wabt::ExprType::Compare:
    case wabt::ExprType::Unary:
    case wabt::ExprType::Convert:
      if (compile_float(expr)) {
        return true;
      }
      break;
    default:
      break;
  }
  switch (expr.type()) {
    case wabt::ExprType::Binary:
      binary(wabt::cast<wabt::BinaryExpr>(&expr)->opcode);
      return true;
    case wabt::ExprType::Compare:
      compare(wabt::cast<wabt::CompareExpr>(&expr)->opcode);
      return true;
    case wabt::ExprType::Unary:
      unary(wabt::cast<wabt::UnaryExpr>(&expr)->opcode);
      return true;
    case wabt::ExprType::Convert:
      convert(wabt::cast<wabt::ConvertExpr>(&expr)->opcode);
      return true;
    default:
      unsupported(std::string("the instruction kind ") + wabt::GetExprTypeName(expr.type()));
  }
}

void FunctionCompiler::alu(x64::Alu op, Size size) {
  const Operand right = pop_operand(true, true);
  const StackValue left_value = pop();
  const Reg left = into_gpr(left_value);
  switch (right.form) {
    case Operand::Form::kImm:
      as_.alu(op, size, left, right.imm);
      break;
    case Operand::Form::kMem:
      as_.alu(op, size, left, right.mem);
      break;
    case Operand::Form::kReg:
      as_.alu(op, size, left, right.reg);
      break;
  }
  push_gpr(size == Size::k64 ? ValueKind::kI64 : ValueKind::kI32, left);
}

void FunctionCompiler::multiply(Size size) {
  const Operand right = pop_operand(true, false);
  const Reg left = pop_gpr();
  if (right.form == Operand::Form::kImm) {
    as_.imul(size, left, left, right.imm);
  } else {
    as_.imul(size, left, right.reg);
  }
  push_gpr(size == Size::k64 ? ValueKind::kI64 : ValueKind::kI32, left);
}

// x86 divides rdx:rax; wasm traps on a zero divisor and on the one signed
// quotient that overflows, where the remainder is defined (zero).
void FunctionCompiler::divide(Opcode opcode, Size size) {
  const bool is_signed = opcode == Opcode::I32DivS || opcode == Opcode::I64DivS ||
                         opcode == Opcode::I32RemS || opcode == Opcode::I64RemS;
  const bool remainder = opcode == Opcode::I32RemS || opcode == Opcode::I64RemS ||
                         opcode == Opcode::I32RemU || opcode == Opcode::I64RemU;
  const StackValue right = pop();
  const StackValue left = pop();
  const std::size_t left_depth = stack_.size();
  // The divisor first, out of rax and rdx, which the division takes.
  Reg divisor = kScratch;
  if (right.where == Where::kGpr && right.gpr != Reg::kRax && right.gpr != Reg::kRdx) {
    divisor = right.gpr;
  } else {
    load_value(right, left_depth + 1, kScratch, size);
  }
  claim_gpr(Reg::kRdx);
  const Reg rax = claim_gpr(Reg::kRax);
  if (left.where != Where::kGpr || left.gpr != rax) {
    load_value(left, left_depth, rax, size);
  }
  as_.test(size, divisor, divisor);
  as_.jcc(Cond::kE, labels_.trap_divide_by_zero);
  const x64::Label done = as_.new_label();
  if (is_signed) {
    const x64::Label general = as_.new_label();
    as_.alu(x64::Alu::kCmp, size, divisor, -1);
    as_.jcc(Cond::kNe, general);
    if (remainder) {
      as_.mov_imm(Size::k32, Reg::kRdx, 0);
    } else {
      as_.neg(size, rax);  // overflows only for the minimum value
      as_.jcc(Cond::kO, labels_.trap_integer_overflow);
    }
    as_.jmp(done);
    as_.bind(general);
    as_.sign_extend_rax(size);
    as_.idiv(size, divisor);
  } else {
    as_.mov_imm(Size::k32, Reg::kRdx, 0);
    as_.div(size, divisor);
  }
  as_.bind(done);
  push_gpr(size == Size::k64 ? ValueKind::kI64 : ValueKind::kI32,
           remainder ? Reg::kRdx : Reg::kRax);
}

void FunctionCompiler::shift(x64::Shift op, Size size) {
  const ValueKind kind = size == Size::k64 ? ValueKind::kI64 : ValueKind::kI32;
  const StackValue count = pop();
  if (count.where == Where::kConst) {
    const Reg left = pop_gpr();
    as_.shift(op, size, left,
              static_cast<std::uint8_t>(count.bits & (size == Size::k64 ? 63 : 31)));
    push_gpr(kind, left);
    return;
  }
  const StackValue left = pop();
  const std::size_t left_depth = stack_.size();
  // The value to shift out of rcx, which takes the count.
  Reg shifted = Reg::kRcx;
  if (left.where == Where::kGpr && left.gpr != Reg::kRcx) {
    shifted = left.gpr;
  } else {
    held_ |= std::uint32_t{1} << static_cast<unsigned>(Reg::kRcx);  // not a home for it
    shifted = alloc_gpr();
    load_value(left, left_depth, shifted, size);
  }
  if (count.where != Where::kGpr || count.gpr != Reg::kRcx) {
    claim_gpr(Reg::kRcx);
    load_value(count, left_depth + 1, Reg::kRcx, Size::k32);
  }
  as_.shift_cl(op, size, shifted);
  push_gpr(kind, shifted);
}

void FunctionCompiler::binary(Opcode opcode) {
  const Size size = size_of_opcode(opcode);
  switch (opcode) {
    case Opcode::I32Add:
    case Opcode::I64Add:
      return alu(x64::Alu::kAdd, size);
    case Opcode::I32Sub:
    case Opcode::I64Sub:
      return alu(x64::Alu::kSub, size);
    case Opcode::I32And:
    case Opcode::I64And:
      return alu(x64::Alu::kAnd, size);
    case Opcode::I32Or:
    case Opcode::I64Or:
      return alu(x64::Alu::kOr, size);
    case Opcode::I32Xor:
    case Opcode::I64Xor:
      return alu(x64::Alu::kXor, size);
    case Opcode::I32Mul:
    case Opcode::I64Mul:
      return multiply(size);
    case Opcode::I32DivS:
    case Opcode::I64DivS:
    case Opcode::I32DivU:
    case Opcode::I64DivU:
    case Opcode::I32RemS:
    case Opcode::I64RemS:
    case Opcode::I32RemU:
    case Opcode::I64RemU:
      return divide(opcode, size);
    case Opcode::I32Shl:
    case Opcode::I64Shl:
      return shift(x64::Shift::kShl, size);
    case Opcode::I32ShrS:
    case Opcode::I64ShrS:
      return shift(x64::Shift::kSar, size);
    case Opcode::I32ShrU:
    case Opcode::I64ShrU:
      return shift(x64::Shift::kShr, size);
    case Opcode::I32Rotl:
    case Opcode::I64Rotl:
      return shift(x64::Shift::kRol, size);
    case Opcode::I32Rotr:
    case Opcode::I64Rotr:
      return shift(x64::Shift::kRor, size);
    default:
      unsupported(std::string("the instruction ") + opcode.GetName());
  }
}

void FunctionCompiler::compare(Opcode opcode) {
  Cond cond = Cond::kE;
  if (!compare_condition(opcode, cond)) {
    unsupported(std::string("the instruction ") + opcode.GetName());
  }
  const Size size = size_of_opcode(opcode);
  const Operand right = pop_operand(true, true);
  const Reg left = pop_gpr();
  switch (right.form) {
    case Operand::Form::kImm:
      as_.alu(x64::Alu::kCmp, size, left, right.imm);
      break;
    case Operand::Form::kMem:
      as_.alu(x64::Alu::kCmp, size, left, right.mem);
      break;
    case Operand::Form::kReg:
      as_.alu(x64::Alu::kCmp, size, left, right.reg);
      break;
  }
  as_.setcc(cond, left);
  as_.movzx8(left, left);
  push_gpr(ValueKind::kI32, left);
}

void FunctionCompiler::unary(Opcode opcode) {
  const Size size = size_of_opcode(opcode);
  const ValueKind kind = size == Size::k64 ? ValueKind::kI64 : ValueKind::kI32;
  const Reg value = pop_gpr();
  switch (opcode) {
    case Opcode::I32Clz:
    case Opcode::I64Clz:
      as_.lzcnt(size, value, value);
      break;
    case Opcode::I32Ctz:
    case Opcode::I64Ctz:
      as_.tzcnt(size, value, value);
      break;
    case Opcode::I32Popcnt:
    case Opcode::I64Popcnt:
      as_.popcnt(size, value, value);
      break;
    case Opcode::I32Extend8S:
    case Opcode::I64Extend8S:
      as_.movsx8(size, value, value);
      break;
    case Opcode::I32Extend16S:
    case Opcode::I64Extend16S:
      as_.movsx16(size, value, value);
      break;
    case Opcode::I64Extend32S:
      as_.movsxd(value, value);
      break;
    default:
      unsupported(std::string("the instruction ") + opcode.GetName());
  }
  push_gpr(kind, value);
}

void FunctionCompiler::convert(Opcode opcode) {
  switch (opcode) {
    case Opcode::I32Eqz:
    case Opcode::I64Eqz: {
      const Size size = opcode == Opcode::I64Eqz ? Size::k64 : Size::k32;
      const Reg value = pop_gpr();
      as_.test(size, value, value);
      as_.setcc(Cond::kE, value);
      as_.movzx8(value, value);
      push_gpr(ValueKind::kI32, value);
      return;
    }
    case Opcode::I32WrapI64: {
      const Reg value = pop_gpr();
      as_.mov(Size::k32, value, value);
      push_gpr(ValueKind::kI32, value);
      return;
    }
    case Opcode::I64ExtendI32S: {
      const Reg value = pop_gpr();
      as_.movsxd(value, value);
      push_gpr(ValueKind::kI64, value);
      return;
    }
    case Opcode::I64ExtendI32U: {
      // An i32 in a register has its upper half zero already.
      push_gpr(ValueKind::kI64, pop_gpr());
      return;
    }
    default:
      unsupported(std::string("the instruction ") + opcode.GetName());
  }
}

void FunctionCompiler::select() {
  const Reg condition = pop_gpr();
  const Operand second = pop_operand(false, true);
  const StackValue first_value = pop();
  if (is_float(first_value.kind)) {
    unsupported("select of floating-point values");
  }
  const Reg first = into_gpr(first_value);
  const Size size = int_size(first_value.kind);
  as_.test(Size::k32, condition, condition);
  if (second.form == Operand::Form::kMem) {
    as_.mov(size, kScratch, second.mem);
    as_.cmov(Cond::kE, size, first, kScratch);
  } else {
    as_.cmov(Cond::kE, size, first, second.reg);
  }
  push_gpr(first_value.kind, first);
}

x64::Mem FunctionCompiler::linear_memory(Reg address, std::uint64_t offset) {
  if (offset <= static_cast<std::uint64_t>(INT32_MAX)) {
    return x64::gs_mem(address, static_cast<std::int32_t>(offset));
  }
  as_.mov_imm(Size::k64, kScratch, offset);
  as_.alu(x64::Alu::kAdd, Size::k64, kScratch, address);
  return x64::gs_mem(kScratch);
}

void FunctionCompiler::load(const wabt::LoadExpr& expr) {
  const Reg address = pop_gpr();
  const x64::Mem at = linear_memory(address, expr.offset);
  if (expr.opcode == Opcode::F32Load || expr.opcode == Opcode::F64Load) {
    const ValueKind kind = expr.opcode == Opcode::F64Load ? ValueKind::kF64 : ValueKind::kF32;
    const x64::Xmm value = alloc_xmm();
    as_.movf(fp_type(kind), value, at);
    push_xmm(kind, value);
    return;
  }
  ValueKind kind = ValueKind::kI32;
  switch (expr.opcode) {
    case Opcode::I32Load:
      as_.mov(Size::k32, address, at);
      break;
    case Opcode::I64Load:
      as_.mov(Size::k64, address, at);
      kind = ValueKind::kI64;
      break;
    case Opcode::I32Load8S:
      as_.movsx8(Size::k32, address, at);
      break;
    case Opcode::I32Load8U:
    case Opcode::I64Load8U:
      as_.movzx8(address, at);
      break;
    case Opcode::I32Load16S:
      as_.movsx16(Size::k32, address, at);
      break;
    case Opcode::I32Load16U:
    case Opcode::I64Load16U:
      as_.movzx16(address, at);
      break;
    case Opcode::I64Load8S:
      as_.movsx8(Size::k64, address, at);
      break;
    case Opcode::I64Load16S:
      as_.movsx16(Size::k64, address, at);
      break;
    case Opcode::I64Load32S:
      as_.movsxd(address, at);
      break;
    case Opcode::I64Load32U:
      as_.mov(Size::k32, address, at);
      break;
    default:
      unsupported(std::string("the instruction ") + expr.opcode.GetName());
  }
  if (expr.opcode.GetResultType() == wabt::Type::I64) {
    kind = ValueKind::kI64;
  }
  push_gpr(kind, address);
}

void FunctionCompiler::store(const wabt::StoreExpr& expr) {
  if (expr.opcode == Opcode::F32Store || expr.opcode == Opcode::F64Store) {
    const x64::Xmm value = pop_xmm();
    const Reg address = pop_gpr();
    as_.movf(expr.opcode == Opcode::F64Store ? x64::Fp::kF64 : x64::Fp::kF32,
             linear_memory(address, expr.offset), value);
    return;
  }
  const Reg value = pop_gpr();
  const Reg address = pop_gpr();
  const x64::Mem at = linear_memory(address, expr.offset);
  switch (expr.opcode) {
    case Opcode::I32Store:
    case Opcode::I64Store32:
      as_.mov(Size::k32, at, value);
      break;
    case Opcode::I64Store:
      as_.mov(Size::k64, at, value);
      break;
    case Opcode::I32Store8:
    case Opcode::I64Store8:
      as_.store8(at, value);
      break;
    case Opcode::I32Store16:
    case Opcode::I64Store16:
      as_.store16(at, value);
      break;
    default:
      unsupported(std::string("the instruction ") + expr.opcode.GetName());
  }
}

}  // namespace wasmshim::wasm::baseline
