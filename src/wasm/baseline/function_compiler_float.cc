// The baseline compiler's floating-point instructions: scalar SSE, with
// wasm's rules where x86 differs (NaN and signed zeros in min and max,
// trapping and saturating truncation, unsigned conversions).
#include <wabt/cast.h>

#include <bit>

#include "function_compiler_state.h"

namespace wasmshim::wasm::baseline {
namespace {

using wabt::Opcode;
using x64::Cond;
using x64::Fp;
using x64::Reg;
using x64::Size;
using x64::Xmm;

constexpr Reg kScratch = Reg::kR11;

bool is_float_type(wabt::Type type) {
  return type == wabt::Type::F32 || type == wabt::Type::F64;
}

Fp type_of(wabt::Type type) {
  return type == wabt::Type::F64 ? Fp::kF64 : Fp::kF32;
}

ValueKind kind_of(Fp type) {
  return type == Fp::kF64 ? ValueKind::kF64 : ValueKind::kF32;
}

Size bits_size(Fp type) {
  return type == Fp::kF64 ? Size::k64 : Size::k32;
}

// A truncation's target and the open interval of f64 values it accepts.
struct Truncation {
  Size size = Size::k32;
  bool is_signed = true;
  bool saturating = false;
  double above = 0;  // exclusive lower bound
  double below = 0;  // exclusive upper bound
};

bool truncation_of(Opcode opcode, Truncation& t) {
  switch (opcode) {
    case Opcode::I32TruncF32S:
    case Opcode::I32TruncF64S:
    case Opcode::I32TruncSatF32S:
    case Opcode::I32TruncSatF64S:
      t = {Size::k32, true, false, -2147483649.0, 2147483648.0};
      break;
    case Opcode::I32TruncF32U:
    case Opcode::I32TruncF64U:
    case Opcode::I32TruncSatF32U:
    case Opcode::I32TruncSatF64U:
      t = {Size::k32, false, false, -1.0, 4294967296.0};
      break;
    case Opcode::I64TruncF32S:
    case Opcode::I64TruncF64S:
    case Opcode::I64TruncSatF32S:
    case Opcode::I64TruncSatF64S:
      // The double just below -2^63 is -2^63 - 2048.
      t = {Size::k64, true, false, -9223372036854777856.0, 9223372036854775808.0};
      break;
    case Opcode::I64TruncF32U:
    case Opcode::I64TruncF64U:
    case Opcode::I64TruncSatF32U:
    case Opcode::I64TruncSatF64U:
      t = {Size::k64, false, false, -1.0, 18446744073709551616.0};
      break;
    default:
      return false;
  }
  t.saturating = opcode.GetPrefix() == 0xfc;
  return true;
}

}  // namespace

bool FunctionCompiler::compile_float(const wabt::Expr& expr) {
  Opcode opcode = Opcode::Nop;
  switch (expr.type()) {
    case wabt::ExprType::Binary:
      opcode = wabt::cast<wabt::BinaryExpr>(&expr)->opcode;
      break;
    case wabt::ExprType::Compare:
      opcode = wabt::cast<wabt::CompareExpr>(&expr)->opcode;
      break;
    case wabt::ExprType::Unary:
      opcode = wabt::cast<wabt::UnaryExpr>(&expr)->opcode;
      break;
    case wabt::ExprType::Convert:
      opcode = wabt::cast<wabt::ConvertExpr>(&expr)->opcode;
      break;
    default:
      return false;
  }
  if (!is_float_type(opcode.GetResultType()) && !is_float_type(opcode.GetParamType1())) {
    return false;
  }
  switch (expr.type()) {
    case wabt::ExprType::Binary:
      float_binary(opcode);
      break;
    case wabt::ExprType::Compare:
      float_compare(opcode);
      break;
    case wabt::ExprType::Unary:
      float_unary(opcode);
      break;
    default:
      float_convert(opcode);
      break;
  }
  return true;
}

void FunctionCompiler::load_f64(Xmm reg, double value) {
  as_.mov_imm(Size::k64, kScratch, std::bit_cast<std::uint64_t>(value));
  as_.movd(Size::k64, reg, kScratch);
}

void FunctionCompiler::float_binary(Opcode opcode) {
  const Fp type = type_of(opcode.GetResultType());
  x64::FpOp op = x64::FpOp::kAdd;
  switch (opcode) {
    case Opcode::F32Add:
    case Opcode::F64Add:
      op = x64::FpOp::kAdd;
      break;
    case Opcode::F32Sub:
    case Opcode::F64Sub:
      op = x64::FpOp::kSub;
      break;
    case Opcode::F32Mul:
    case Opcode::F64Mul:
      op = x64::FpOp::kMul;
      break;
    case Opcode::F32Div:
    case Opcode::F64Div:
      op = x64::FpOp::kDiv;
      break;
    case Opcode::F32Min:
    case Opcode::F64Min:
      return float_min_max(type, true);
    case Opcode::F32Max:
    case Opcode::F64Max:
      return float_min_max(type, false);
    case Opcode::F32Copysign:
    case Opcode::F64Copysign:
      return float_sign(opcode);
    default:
      unsupported(std::string("the instruction ") + opcode.GetName());
  }
  const FloatOperand right = pop_float_operand();
  const Xmm left = pop_xmm();
  if (right.in_memory) {
    as_.fp(op, type, left, right.mem);
  } else {
    as_.fp(op, type, left, right.reg);
  }
  push_xmm(kind_of(type), left);
}

// x86's minss/maxss answer the second operand when either is NaN or both
// are zeros; wasm wants NaN, and -0 below +0.
void FunctionCompiler::float_min_max(Fp type, bool is_min) {
  const Xmm right = pop_xmm();
  const Xmm left = pop_xmm();
  const x64::Label unordered = as_.new_label();
  const x64::Label different = as_.new_label();
  const x64::Label done = as_.new_label();
  as_.ucomis(type, left, right);
  as_.jcc(Cond::kP, unordered);
  as_.jcc(Cond::kNe, different);
  // Equal: only the signs of zeros can differ.
  if (is_min) {
    as_.orp(type, left, right);
  } else {
    as_.andp(type, left, right);
  }
  as_.jmp(done);
  as_.bind(unordered);
  as_.fp(x64::FpOp::kAdd, type, left, right);  // a NaN, quieted
  as_.jmp(done);
  as_.bind(different);
  as_.fp(is_min ? x64::FpOp::kMin : x64::FpOp::kMax, type, left, right);
  as_.bind(done);
  push_xmm(kind_of(type), left);
}

// abs, neg and copysign change the sign bit only, through the scratch
// register.
void FunctionCompiler::float_sign(Opcode opcode) {
  const Fp type = type_of(opcode.GetResultType());
  const Size size = bits_size(type);
  const bool wide = type == Fp::kF64;
  if (opcode == Opcode::F32Copysign || opcode == Opcode::F64Copysign) {
    const Xmm sign = pop_xmm();
    const Xmm magnitude = pop_xmm();
    const Reg sign_bits = alloc_gpr();
    as_.movd(size, kScratch, magnitude);
    as_.movd(size, sign_bits, sign);
    if (wide) {
      as_.shift(x64::Shift::kShl, size, kScratch, 1);
      as_.shift(x64::Shift::kShr, size, kScratch, 1);
      as_.shift(x64::Shift::kShr, size, sign_bits, 63);
      as_.shift(x64::Shift::kShl, size, sign_bits, 63);
    } else {
      as_.alu(x64::Alu::kAnd, size, kScratch, 0x7fffffff);
      as_.alu(x64::Alu::kAnd, size, sign_bits, INT32_MIN);
    }
    as_.alu(x64::Alu::kOr, size, kScratch, sign_bits);
    as_.movd(size, magnitude, kScratch);
    push_xmm(kind_of(type), magnitude);
    return;
  }
  const Xmm value = pop_xmm();
  as_.movd(size, kScratch, value);
  const bool negate = opcode == Opcode::F32Neg || opcode == Opcode::F64Neg;
  if (!wide) {
    as_.alu(negate ? x64::Alu::kXor : x64::Alu::kAnd, size, kScratch,
            negate ? INT32_MIN : 0x7fffffff);
  } else if (negate) {
    as_.shift(x64::Shift::kRol, size, kScratch, 1);
    as_.alu(x64::Alu::kXor, size, kScratch, 1);
    as_.shift(x64::Shift::kRor, size, kScratch, 1);
  } else {
    as_.shift(x64::Shift::kShl, size, kScratch, 1);
    as_.shift(x64::Shift::kShr, size, kScratch, 1);
  }
  as_.movd(size, value, kScratch);
  push_xmm(kind_of(type), value);
}

void FunctionCompiler::float_unary(Opcode opcode) {
  const Fp type = type_of(opcode.GetResultType());
  std::uint8_t rounding = 0;
  switch (opcode) {
    case Opcode::F32Abs:
    case Opcode::F64Abs:
    case Opcode::F32Neg:
    case Opcode::F64Neg:
      return float_sign(opcode);
    case Opcode::F32Sqrt:
    case Opcode::F64Sqrt: {
      const Xmm value = pop_xmm();
      as_.fp(x64::FpOp::kSqrt, type, value, value);
      push_xmm(kind_of(type), value);
      return;
    }
    case Opcode::F32Nearest:
    case Opcode::F64Nearest:
      rounding = 0;  // to nearest, ties to even
      break;
    case Opcode::F32Floor:
    case Opcode::F64Floor:
      rounding = 1;
      break;
    case Opcode::F32Ceil:
    case Opcode::F64Ceil:
      rounding = 2;
      break;
    case Opcode::F32Trunc:
    case Opcode::F64Trunc:
      rounding = 3;
      break;
    default:
      unsupported(std::string("the instruction ") + opcode.GetName());
  }
  const Xmm value = pop_xmm();
  as_.rounds(type, value, value, static_cast<std::uint8_t>(rounding | 8));  // 8: no inexact
  push_xmm(kind_of(type), value);
}

void FunctionCompiler::float_compare(Opcode opcode) {
  const Fp type = type_of(opcode.GetParamType1());
  const Xmm right = pop_xmm();
  const Xmm left = pop_xmm();
  const Reg result = alloc_gpr();
  as_.mov_imm(Size::k32, result, 0);
  switch (opcode) {
    case Opcode::F32Eq:
    case Opcode::F64Eq:
    case Opcode::F32Ne:
    case Opcode::F64Ne: {
      // Unordered sets ZF and PF: equal needs ZF without PF.
      const bool equal = opcode == Opcode::F32Eq || opcode == Opcode::F64Eq;
      as_.mov_imm(Size::k32, kScratch, 0);
      as_.ucomis(type, left, right);
      as_.setcc(equal ? Cond::kE : Cond::kNe, result);
      as_.setcc(equal ? Cond::kNp : Cond::kP, kScratch);
      as_.alu(equal ? x64::Alu::kAnd : x64::Alu::kOr, Size::k32, result, kScratch);
      break;
    }
    case Opcode::F32Lt:
    case Opcode::F64Lt:
      as_.ucomis(type, right, left);
      as_.setcc(Cond::kA, result);
      break;
    case Opcode::F32Gt:
    case Opcode::F64Gt:
      as_.ucomis(type, left, right);
      as_.setcc(Cond::kA, result);
      break;
    case Opcode::F32Le:
    case Opcode::F64Le:
      as_.ucomis(type, right, left);
      as_.setcc(Cond::kAe, result);
      break;
    case Opcode::F32Ge:
    case Opcode::F64Ge:
      as_.ucomis(type, left, right);
      as_.setcc(Cond::kAe, result);
      break;
    default:
      unsupported(std::string("the instruction ") + opcode.GetName());
  }
  push_gpr(ValueKind::kI32, result);
}

void FunctionCompiler::convert_from_unsigned64(Fp to) {
  const Reg value = pop_gpr();
  const Xmm result = alloc_xmm();
  const x64::Label high = as_.new_label();
  const x64::Label done = as_.new_label();
  as_.test(Size::k64, value, value);
  as_.jcc(Cond::kS, high);
  as_.cvtsi2s(to, Size::k64, result, value);
  as_.jmp(done);
  // Above 2^63: halve, keeping the low bit so that rounding stays right,
  // convert, double.
  as_.bind(high);
  as_.mov(Size::k64, kScratch, value);
  as_.shift(x64::Shift::kShr, Size::k64, kScratch, 1);
  as_.alu(x64::Alu::kAnd, Size::k64, value, 1);
  as_.alu(x64::Alu::kOr, Size::k64, kScratch, value);
  as_.cvtsi2s(to, Size::k64, result, kScratch);
  as_.fp(x64::FpOp::kAdd, to, result, result);
  as_.bind(done);
  push_xmm(kind_of(to), result);
}

void FunctionCompiler::truncate(Opcode opcode) {
  Truncation t;
  truncation_of(opcode, t);
  const Xmm value = pop_xmm();
  if (type_of(opcode.GetParamType1()) == Fp::kF32) {
    as_.cvts2s(Fp::kF64, value, value);  // exact: one set of bounds serves both
  }
  const Reg result = alloc_gpr();
  const Xmm bound = alloc_xmm();
  const x64::Label nan = t.saturating ? as_.new_label() : labels_.trap_invalid_conversion;
  const x64::Label low = t.saturating ? as_.new_label() : labels_.trap_integer_overflow;
  const x64::Label high = t.saturating ? as_.new_label() : labels_.trap_integer_overflow;
  const x64::Label done = as_.new_label();
  as_.ucomis(Fp::kF64, value, value);
  as_.jcc(Cond::kP, nan);
  load_f64(bound, t.above);
  as_.ucomis(Fp::kF64, value, bound);
  as_.jcc(Cond::kBe, low);
  load_f64(bound, t.below);
  as_.ucomis(Fp::kF64, value, bound);
  as_.jcc(Cond::kAe, high);
  if (t.size == Size::k64 && !t.is_signed) {
    // cvttsd2si is signed: from 2^63 up, subtract 2^63 first and set the
    // top bit after.
    const x64::Label small = as_.new_label();
    load_f64(bound, 9223372036854775808.0);
    as_.ucomis(Fp::kF64, value, bound);
    as_.jcc(Cond::kB, small);
    as_.fp(x64::FpOp::kSub, Fp::kF64, value, bound);
    as_.cvtts2si(Fp::kF64, Size::k64, result, value);
    as_.mov_imm(Size::k64, kScratch, std::uint64_t{1} << 63);
    as_.alu(x64::Alu::kXor, Size::k64, result, kScratch);
    as_.jmp(done);
    as_.bind(small);
    as_.cvtts2si(Fp::kF64, Size::k64, result, value);
  } else if (t.size == Size::k32 && !t.is_signed) {
    as_.cvtts2si(Fp::kF64, Size::k64, result, value);
    as_.mov(Size::k32, result, result);
  } else {
    as_.cvtts2si(Fp::kF64, t.size, result, value);
  }
  if (t.saturating) {
    const std::uint64_t lowest =
        t.is_signed ? (t.size == Size::k64 ? std::uint64_t{1} << 63 : 0x80000000U) : 0;
    const std::uint64_t highest = t.size == Size::k64 ? (t.is_signed ? ~lowest : ~0ULL)
                                                      : (t.is_signed ? 0x7fffffffU : 0xffffffffU);
    as_.jmp(done);
    as_.bind(nan);
    as_.mov_imm(Size::k32, result, 0);
    as_.jmp(done);
    as_.bind(low);
    as_.mov_imm(t.size, result, lowest);
    as_.jmp(done);
    as_.bind(high);
    as_.mov_imm(t.size, result, highest);
  }
  as_.bind(done);
  push_gpr(t.size == Size::k64 ? ValueKind::kI64 : ValueKind::kI32, result);
}

void FunctionCompiler::float_convert(Opcode opcode) {
  Truncation truncation;
  if (truncation_of(opcode, truncation)) {
    return truncate(opcode);
  }
  const wabt::Type to = opcode.GetResultType();
  switch (opcode) {
    case Opcode::F32DemoteF64:
    case Opcode::F64PromoteF32: {
      const Xmm value = pop_xmm();
      as_.cvts2s(type_of(to), value, value);
      push_xmm(kind_of(type_of(to)), value);
      return;
    }
    case Opcode::F32ConvertI32S:
    case Opcode::F64ConvertI32S:
    case Opcode::F32ConvertI32U:
    case Opcode::F64ConvertI32U:
    case Opcode::F32ConvertI64S:
    case Opcode::F64ConvertI64S: {
      // An i32 in a register is zero-extended: as an i64 it converts unsigned.
      const bool from_i32_signed =
          opcode == Opcode::F32ConvertI32S || opcode == Opcode::F64ConvertI32S;
      const Reg value = pop_gpr();
      const Xmm result = alloc_xmm();
      as_.cvtsi2s(type_of(to), from_i32_signed ? Size::k32 : Size::k64, result, value);
      push_xmm(kind_of(type_of(to)), result);
      return;
    }
    case Opcode::F32ConvertI64U:
    case Opcode::F64ConvertI64U:
      return convert_from_unsigned64(type_of(to));
    case Opcode::I32ReinterpretF32:
    case Opcode::I64ReinterpretF64: {
      const Xmm value = pop_xmm();
      const Reg result = alloc_gpr();
      const bool wide = opcode == Opcode::I64ReinterpretF64;
      as_.movd(wide ? Size::k64 : Size::k32, result, value);
      push_gpr(wide ? ValueKind::kI64 : ValueKind::kI32, result);
      return;
    }
    case Opcode::F32ReinterpretI32:
    case Opcode::F64ReinterpretI64: {
      const Reg value = pop_gpr();
      const Xmm result = alloc_xmm();
      const bool wide = opcode == Opcode::F64ReinterpretI64;
      as_.movd(wide ? Size::k64 : Size::k32, result, value);
      push_xmm(wide ? ValueKind::kF64 : ValueKind::kF32, result);
      return;
    }
    default:
      unsupported(std::string("the instruction ") + opcode.GetName());
  }
}

void FunctionCompiler::float_select() {
  const Reg condition = pop_gpr();
  const Xmm second = pop_xmm();
  const StackValue first_value = pop();
  const Xmm first = into_xmm(first_value);
  const x64::Label keep = as_.new_label();
  as_.test(Size::k32, condition, condition);
  as_.jcc(Cond::kNe, keep);
  as_.movf(fp_type(first_value.kind), first, second);
  as_.bind(keep);
  push_xmm(first_value.kind, first);
}

}  // namespace wasmshim::wasm::baseline
