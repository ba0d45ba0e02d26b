// The instructions, each on the encoder in x64_assembler.cc. Where an
// instruction has several encodings the shorter is chosen, as GNU as chooses,
// so that the tests can compare bytes with it.
#include <limits>
#include <stdexcept>

#include "x64_assembler.h"

namespace wasmshim::wasm::x64 {
namespace {

constexpr std::uint8_t kOperandSizePrefix = 0x66;
constexpr std::uint8_t kRepnePrefix = 0xF2;  // scalar double / mandatory prefix
constexpr std::uint8_t kRepPrefix = 0xF3;    // scalar single / mandatory prefix
constexpr std::uint8_t kRexWPrefix = 0x48;   // REX with only W set

std::uint8_t code(Reg reg) {
  return static_cast<std::uint8_t>(reg);
}
std::uint8_t code(Xmm reg) {
  return static_cast<std::uint8_t>(reg);
}
std::uint8_t code(Cond cond) {
  return static_cast<std::uint8_t>(cond);
}
std::uint8_t digit(Alu op) {
  return static_cast<std::uint8_t>(op);
}
std::uint8_t digit(Shift op) {
  return static_cast<std::uint8_t>(op);
}
// The one-byte ALU opcodes are the /digit times 8 plus the form: 1 "r/m, reg",
// 3 "reg, r/m", 5 "accumulator, imm32".
std::uint8_t alu_opcode(Alu op, unsigned form) {
  return static_cast<std::uint8_t>((static_cast<unsigned>(op) << 3U) | form);
}
bool is64(Size size) {
  return size == Size::k64;
}
std::uint8_t scalar_prefix(Fp type) {
  return type == Fp::kF32 ? kRepPrefix : kRepnePrefix;
}
// movaps/andps/... take no prefix; their double forms take 0x66.
std::uint8_t packed_prefix(Fp type) {
  return type == Fp::kF32 ? 0 : kOperandSizePrefix;
}

}  // namespace

Cond negate(Cond c) {
  return static_cast<Cond>(code(c) ^ 1U);
}

// --- Moves ------------------------------------------------------------------

void Assembler::mov(Size size, Reg dst, Reg src) {
  emit({.rex_w = is64(size), .opcode = 0x89}, code(src), {code(dst)});
}

void Assembler::mov(Size size, Reg dst, const Mem& src) {
  emit({.rex_w = is64(size), .opcode = 0x8B}, code(dst), {.memory = &src});
}

void Assembler::mov(Size size, const Mem& dst, Reg src) {
  emit({.rex_w = is64(size), .opcode = 0x89}, code(src), {.memory = &dst});
}

void Assembler::mov_imm(Size size, Reg dst, std::uint64_t imm) {
  if (!is64(size) || imm <= std::numeric_limits<std::uint32_t>::max()) {
    emit_opcode_plus_reg(false, 0xB8, dst);
    put32(static_cast<std::uint32_t>(imm));
  } else if (fits_int32(static_cast<std::int64_t>(imm))) {
    emit({.rex_w = true, .opcode = 0xC7, .immediate_size = 4}, 0, {code(dst)});
    put32(static_cast<std::uint32_t>(imm));
  } else {
    emit_opcode_plus_reg(true, 0xB8, dst);
    put64(imm);
  }
}

void Assembler::mov_imm(Size size, const Mem& dst, std::int32_t imm) {
  emit({.rex_w = is64(size), .opcode = 0xC7, .immediate_size = 4}, 0, {.memory = &dst});
  put32(static_cast<std::uint32_t>(imm));
}

void Assembler::store8(const Mem& dst, Reg src) {
  emit({.byte_reg = true, .opcode = 0x88}, code(src), {.memory = &dst});
}

void Assembler::store16(const Mem& dst, Reg src) {
  emit({.prefix = kOperandSizePrefix, .opcode = 0x89}, code(src), {.memory = &dst});
}

void Assembler::movzx8(Reg dst, const Mem& src) {
  emit({.opcode = 0x0FB6}, code(dst), {.memory = &src});
}

void Assembler::movzx8(Reg dst, Reg src) {
  emit({.byte_rm = true, .opcode = 0x0FB6}, code(dst), {code(src)});
}

void Assembler::movzx16(Reg dst, const Mem& src) {
  emit({.opcode = 0x0FB7}, code(dst), {.memory = &src});
}

void Assembler::movzx16(Reg dst, Reg src) {
  emit({.opcode = 0x0FB7}, code(dst), {code(src)});
}

void Assembler::movsx8(Size size, Reg dst, const Mem& src) {
  emit({.rex_w = is64(size), .opcode = 0x0FBE}, code(dst), {.memory = &src});
}

void Assembler::movsx8(Size size, Reg dst, Reg src) {
  emit({.rex_w = is64(size), .byte_rm = true, .opcode = 0x0FBE}, code(dst), {code(src)});
}

void Assembler::movsx16(Size size, Reg dst, const Mem& src) {
  emit({.rex_w = is64(size), .opcode = 0x0FBF}, code(dst), {.memory = &src});
}

void Assembler::movsx16(Size size, Reg dst, Reg src) {
  emit({.rex_w = is64(size), .opcode = 0x0FBF}, code(dst), {code(src)});
}

void Assembler::movsxd(Reg dst, const Mem& src) {
  emit({.rex_w = true, .opcode = 0x63}, code(dst), {.memory = &src});
}

void Assembler::movsxd(Reg dst, Reg src) {
  emit({.rex_w = true, .opcode = 0x63}, code(dst), {code(src)});
}

void Assembler::lea(Size size, Reg dst, const Mem& src) {
  emit({.rex_w = is64(size), .opcode = 0x8D}, code(dst), {.memory = &src});
}

void Assembler::lea(Reg dst, Label label) {
  lea(Size::k64, dst, rip_mem(label));
}

// --- Integer arithmetic -----------------------------------------------------

void Assembler::alu(Alu op, Size size, Reg dst, Reg src) {
  emit({.rex_w = is64(size), .opcode = alu_opcode(op, 1)}, code(src), {code(dst)});
}

void Assembler::alu(Alu op, Size size, Reg dst, std::int32_t imm) {
  if (fits_int8(imm)) {
    emit({.rex_w = is64(size), .opcode = 0x83, .immediate_size = 1}, digit(op), {code(dst)});
    put8(static_cast<std::uint8_t>(imm));
    return;
  }
  if (dst == Reg::kRax) {
    // The accumulator form (add eax, imm32 is 05 id) has no ModRM byte.
    if (is64(size)) {
      put8(kRexWPrefix);
    }
    put8(alu_opcode(op, 5));
  } else {
    emit({.rex_w = is64(size), .opcode = 0x81, .immediate_size = 4}, digit(op), {code(dst)});
  }
  put32(static_cast<std::uint32_t>(imm));
}

void Assembler::alu(Alu op, Size size, Reg dst, const Mem& src) {
  emit({.rex_w = is64(size), .opcode = alu_opcode(op, 3)}, code(dst), {.memory = &src});
}

void Assembler::alu(Alu op, Size size, const Mem& dst, Reg src) {
  emit({.rex_w = is64(size), .opcode = alu_opcode(op, 1)}, code(src), {.memory = &dst});
}

void Assembler::test(Size size, Reg a, Reg b) {
  emit({.rex_w = is64(size), .opcode = 0x85}, code(b), {code(a)});
}

void Assembler::imul(Size size, Reg dst, Reg src) {
  emit({.rex_w = is64(size), .opcode = 0x0FAF}, code(dst), {code(src)});
}

void Assembler::imul(Size size, Reg dst, Reg src, std::int32_t imm) {
  if (fits_int8(imm)) {
    emit({.rex_w = is64(size), .opcode = 0x6B, .immediate_size = 1}, code(dst), {code(src)});
    put8(static_cast<std::uint8_t>(imm));
  } else {
    emit({.rex_w = is64(size), .opcode = 0x69, .immediate_size = 4}, code(dst), {code(src)});
    put32(static_cast<std::uint32_t>(imm));
  }
}

void Assembler::div(Size size, Reg divisor) {
  emit({.rex_w = is64(size), .opcode = 0xF7}, 6, {code(divisor)});
}

void Assembler::idiv(Size size, Reg divisor) {
  emit({.rex_w = is64(size), .opcode = 0xF7}, 7, {code(divisor)});
}

void Assembler::sign_extend_rax(Size size) {
  if (is64(size)) {
    put8(kRexWPrefix);
  }
  put8(0x99);
}

void Assembler::neg(Size size, Reg reg) {
  emit({.rex_w = is64(size), .opcode = 0xF7}, 3, {code(reg)});
}

void Assembler::not_(Size size, Reg reg) {
  emit({.rex_w = is64(size), .opcode = 0xF7}, 2, {code(reg)});
}

void Assembler::shift_cl(Shift op, Size size, Reg reg) {
  emit({.rex_w = is64(size), .opcode = 0xD3}, digit(op), {code(reg)});
}

void Assembler::shift(Shift op, Size size, Reg reg, std::uint8_t imm) {
  if (imm == 1) {
    // The by-one form is a byte shorter.
    emit({.rex_w = is64(size), .opcode = 0xD1}, digit(op), {code(reg)});
    return;
  }
  emit({.rex_w = is64(size), .opcode = 0xC1, .immediate_size = 1}, digit(op), {code(reg)});
  put8(imm);
}

void Assembler::lzcnt(Size size, Reg dst, Reg src) {
  emit({.prefix = kRepPrefix, .rex_w = is64(size), .opcode = 0x0FBD}, code(dst), {code(src)});
}

void Assembler::tzcnt(Size size, Reg dst, Reg src) {
  emit({.prefix = kRepPrefix, .rex_w = is64(size), .opcode = 0x0FBC}, code(dst), {code(src)});
}

void Assembler::popcnt(Size size, Reg dst, Reg src) {
  emit({.prefix = kRepPrefix, .rex_w = is64(size), .opcode = 0x0FB8}, code(dst), {code(src)});
}

void Assembler::setcc(Cond cond, Reg dst) {
  emit({.byte_rm = true, .opcode = 0x0F90U | code(cond)}, 0, {code(dst)});
}

void Assembler::cmov(Cond cond, Size size, Reg dst, Reg src) {
  emit({.rex_w = is64(size), .opcode = 0x0F40U | code(cond)}, code(dst), {code(src)});
}

void Assembler::xchg(Size size, Reg a, Reg b) {
  if (a != Reg::kRax && b != Reg::kRax) {
    emit({.rex_w = is64(size), .opcode = 0x87}, code(b), {code(a)});
  } else if (a != b) {
    // The one-byte 90+r form exchanges with the accumulator.
    emit_opcode_plus_reg(is64(size), 0x90, a == Reg::kRax ? b : a);
  } else if (is64(size)) {
    put8(0x90);  // xchg rax, rax changes nothing: nop
  } else {
    // 0x90 alone would not clear the upper half of rax as xchg eax, eax does.
    emit({.opcode = 0x87}, 0, {0});
  }
}

// --- Stack and control ------------------------------------------------------

void Assembler::push(Reg reg) {
  emit_opcode_plus_reg(false, 0x50, reg);
}

void Assembler::pop(Reg reg) {
  emit_opcode_plus_reg(false, 0x58, reg);
}

void Assembler::ret() {
  put8(0xC3);
}

void Assembler::ud2() {
  put8(0x0F);
  put8(0x0B);
}

void Assembler::int3() {
  put8(0xCC);
}

void Assembler::jmp(Label target) {
  checked_index(target);
  put8(0xE9);
  reference(target, Label{}, -static_cast<std::int64_t>(code_.size() + 4));
}

void Assembler::jcc(Cond cond, Label target) {
  checked_index(target);
  put8(0x0F);
  put8(static_cast<std::uint8_t>(0x80U | code(cond)));
  reference(target, Label{}, -static_cast<std::int64_t>(code_.size() + 4));
}

void Assembler::jmp(Reg target) {
  // Near indirect jumps and calls take 64-bit operands without REX.W.
  emit({.opcode = 0xFF}, 4, {code(target)});
}

void Assembler::jmp(const Mem& target) {
  emit({.opcode = 0xFF}, 4, {.memory = &target});
}

void Assembler::call(Label target) {
  checked_index(target);
  put8(0xE8);
  reference(target, Label{}, -static_cast<std::int64_t>(code_.size() + 4));
}

void Assembler::call(Reg target) {
  emit({.opcode = 0xFF}, 2, {code(target)});
}

void Assembler::call(const Mem& target) {
  emit({.opcode = 0xFF}, 2, {.memory = &target});
}

void Assembler::emit_label_offset(Label target, Label base) {
  checked_index(base);
  reference(target, base, 0);
}

void Assembler::emit_u32(std::uint32_t value) {
  put32(value);
}

void Assembler::emit_u64(std::uint64_t value) {
  put64(value);
}

void Assembler::patch_u32(std::size_t offset, std::uint32_t value) {
  if (offset + 4 > code_.size()) {
    throw std::invalid_argument("x64 assembler: patch past the end of the code");
  }
  for (unsigned i = 0; i < 4; ++i) {
    code_[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

void Assembler::align(std::size_t alignment) {
  if (alignment == 0) {
    throw std::invalid_argument("x64 assembler: alignment 0");
  }
  while (code_.size() % alignment != 0) {
    int3();
  }
}

// --- Scalar SSE -------------------------------------------------------------

void Assembler::movf(Fp type, Xmm dst, Xmm src) {
  emit({.prefix = packed_prefix(type), .opcode = 0x0F28}, code(dst), {code(src)});
}

void Assembler::movf(Fp type, Xmm dst, const Mem& src) {
  emit({.prefix = scalar_prefix(type), .opcode = 0x0F10}, code(dst), {.memory = &src});
}

void Assembler::movf(Fp type, const Mem& dst, Xmm src) {
  emit({.prefix = scalar_prefix(type), .opcode = 0x0F11}, code(src), {.memory = &dst});
}

void Assembler::movd(Size size, Xmm dst, Reg src) {
  emit({.prefix = kOperandSizePrefix, .rex_w = is64(size), .opcode = 0x0F6E}, code(dst),
       {code(src)});
}

void Assembler::movd(Size size, Reg dst, Xmm src) {
  emit({.prefix = kOperandSizePrefix, .rex_w = is64(size), .opcode = 0x0F7E}, code(src),
       {code(dst)});
}

void Assembler::fp(FpOp op, Fp type, Xmm dst, Xmm src) {
  emit({.prefix = scalar_prefix(type), .opcode = 0x0F00U | static_cast<std::uint8_t>(op)},
       code(dst), {code(src)});
}

void Assembler::fp(FpOp op, Fp type, Xmm dst, const Mem& src) {
  emit({.prefix = scalar_prefix(type), .opcode = 0x0F00U | static_cast<std::uint8_t>(op)},
       code(dst), {.memory = &src});
}

void Assembler::ucomis(Fp type, Xmm a, Xmm b) {
  emit({.prefix = packed_prefix(type), .opcode = 0x0F2E}, code(a), {code(b)});
}

void Assembler::cvtsi2s(Fp to, Size from, Xmm dst, Reg src) {
  emit({.prefix = scalar_prefix(to), .rex_w = is64(from), .opcode = 0x0F2A}, code(dst),
       {code(src)});
}

void Assembler::cvtts2si(Fp from, Size to, Reg dst, Xmm src) {
  emit({.prefix = scalar_prefix(from), .rex_w = is64(to), .opcode = 0x0F2C}, code(dst),
       {code(src)});
}

void Assembler::cvts2s(Fp to, Xmm dst, Xmm src) {
  // cvtss2sd reads a single (F3), cvtsd2ss a double (F2).
  emit({.prefix = scalar_prefix(to == Fp::kF64 ? Fp::kF32 : Fp::kF64), .opcode = 0x0F5A}, code(dst),
       {code(src)});
}

void Assembler::rounds(Fp type, Xmm dst, Xmm src, std::uint8_t mode) {
  // 66 0F 3A 0A (roundss) / 0B (roundsd) ib.
  std::uint32_t opcode = type == Fp::kF32 ? 0x0F3A0AU : 0x0F3A0BU;
  emit({.prefix = kOperandSizePrefix, .opcode = opcode, .immediate_size = 1}, code(dst),
       {code(src)});
  put8(mode);
}

void Assembler::andp(Fp type, Xmm dst, Xmm src) {
  emit({.prefix = packed_prefix(type), .opcode = 0x0F54}, code(dst), {code(src)});
}

void Assembler::andnp(Fp type, Xmm dst, Xmm src) {
  emit({.prefix = packed_prefix(type), .opcode = 0x0F55}, code(dst), {code(src)});
}

void Assembler::orp(Fp type, Xmm dst, Xmm src) {
  emit({.prefix = packed_prefix(type), .opcode = 0x0F56}, code(dst), {code(src)});
}

void Assembler::xorp(Fp type, Xmm dst, Xmm src) {
  emit({.prefix = packed_prefix(type), .opcode = 0x0F57}, code(dst), {code(src)});
}

void Assembler::andp(Fp type, Xmm dst, const Mem& src) {
  emit({.prefix = packed_prefix(type), .opcode = 0x0F54}, code(dst), {.memory = &src});
}

void Assembler::xorp(Fp type, Xmm dst, const Mem& src) {
  emit({.prefix = packed_prefix(type), .opcode = 0x0F57}, code(dst), {.memory = &src});
}

}  // namespace wasmshim::wasm::x64
