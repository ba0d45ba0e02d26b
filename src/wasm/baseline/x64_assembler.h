// Private: an x86-64 machine-code encoder for the single-pass baseline
// compiler: registers, memory operands, labels patched when bound, the
// integer and scalar SSE instructions that compiler emits, and executable
// mappings to run the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace wasmshim::wasm::x64 {

enum class Reg : std::uint8_t {
  kRax,
  kRcx,
  kRdx,
  kRbx,
  kRsp,
  kRbp,
  kRsi,
  kRdi,
  kR8,
  kR9,
  kR10,
  kR11,
  kR12,
  kR13,
  kR14,
  kR15
};
enum class Xmm : std::uint8_t {
  kXmm0,
  kXmm1,
  kXmm2,
  kXmm3,
  kXmm4,
  kXmm5,
  kXmm6,
  kXmm7,
  kXmm8,
  kXmm9,
  kXmm10,
  kXmm11,
  kXmm12,
  kXmm13,
  kXmm14,
  kXmm15
};
// Whether a value fits a sign-extended 8- or 32-bit immediate or
// displacement.
inline bool fits_int8(std::int64_t value) {
  return value >= std::numeric_limits<std::int8_t>::min() &&
         value <= std::numeric_limits<std::int8_t>::max();
}
inline bool fits_int32(std::int64_t value) {
  return value >= std::numeric_limits<std::int32_t>::min() &&
         value <= std::numeric_limits<std::int32_t>::max();
}

// General-purpose operand size.
enum class Size : std::uint8_t { k32, k64 };
// Scalar SSE type.
enum class Fp : std::uint8_t { kF32, kF64 };
// Condition codes in encoding order (the low nibble of Jcc/SETcc/CMOVcc).
enum class Cond : std::uint8_t {
  kO,
  kNo,
  kB,
  kAe,
  kE,
  kNe,
  kBe,
  kA,
  kS,
  kNs,
  kP,
  kNp,
  kL,
  kGe,
  kLe,
  kG
};
// The opposite condition: flips the low bit of the encoding.
Cond negate(Cond c);
// The ModRM /digit of the 0x81/0x83 group; also selects the reg-reg opcode.
enum class Alu : std::uint8_t { kAdd = 0, kOr = 1, kAnd = 4, kSub = 5, kXor = 6, kCmp = 7 };
// The ModRM /digit of the 0xC1/0xD1/0xD3 group.
enum class Shift : std::uint8_t { kRol = 0, kRor = 1, kShl = 4, kShr = 5, kSar = 7 };
// The second opcode byte of the scalar SSE arithmetic (after 0xF3/0xF2 0x0F).
enum class FpOp : std::uint8_t {
  kSqrt = 0x51,
  kAdd = 0x58,
  kMul = 0x59,
  kSub = 0x5C,
  kMin = 0x5D,
  kDiv = 0x5E,
  kMax = 0x5F
};

// A position in the code, bound once. Id 0 (a default Label) names none.
struct Label {
  std::uint32_t id = 0;
};

// A memory operand: [base + index*scale + disp], optionally with the GS
// segment override (wasm linear memory is addressed relative to GS), or
// RIP-relative to a label.
struct Mem {
  Reg base = Reg::kRax;
  Reg index = Reg::kRax;
  bool has_index = false;
  std::uint8_t scale = 1;  // 1, 2, 4, 8
  std::int32_t disp = 0;
  bool gs = false;
  bool rip = false;  // [rip + label + disp]; base/index unused
  Label label{};
};
Mem mem(Reg base, std::int32_t disp = 0);
Mem mem(Reg base, Reg index, std::uint8_t scale, std::int32_t disp = 0);
Mem gs_mem(Reg base, std::int32_t disp = 0);  // gs:[base + disp]
Mem rip_mem(Label label, std::int32_t disp = 0);

// Appends encoded instructions to a byte vector. Operands the encoding
// cannot express (rsp as an index, a scale other than 1/2/4/8, an unknown
// label) throw std::invalid_argument; misuse of labels (binding twice,
// asking the offset of an unbound one) throws std::logic_error.
class Assembler {
 public:
  const std::vector<std::uint8_t>& bytes() const { return code_; }
  std::size_t size() const { return code_.size(); }

  Label new_label();
  // Binds at the current offset and patches every earlier reference.
  void bind(Label label);
  bool is_bound(Label label) const;
  std::size_t offset_of(Label label) const;  // bound labels only
  // Throws std::logic_error naming the label if any referenced label is unbound.
  void finish();

  // Moves and loads (a 32-bit destination zero-extends, as the CPU does).
  void mov(Size size, Reg dst, Reg src);
  void mov(Size size, Reg dst, const Mem& src);
  void mov(Size size, const Mem& dst, Reg src);
  // The shortest form that leaves flags alone: mov r32, imm32 when the value
  // fits in 32 bits unsigned (always for k32, which takes the low 32 bits),
  // mov r/m64 with a sign-extended imm32, else movabs.
  void mov_imm(Size size, Reg dst, std::uint64_t imm);
  void mov_imm(Size size, const Mem& dst, std::int32_t imm);
  void store8(const Mem& dst, Reg src);
  void store16(const Mem& dst, Reg src);
  // Into the 32-bit register, which zero-extends to 64.
  void movzx8(Reg dst, const Mem& src);
  void movzx8(Reg dst, Reg src);
  void movzx16(Reg dst, const Mem& src);
  void movzx16(Reg dst, Reg src);
  void movsx8(Size size, Reg dst, const Mem& src);
  void movsx8(Size size, Reg dst, Reg src);
  void movsx16(Size size, Reg dst, const Mem& src);
  void movsx16(Size size, Reg dst, Reg src);
  // 64 <- 32 sign-extended.
  void movsxd(Reg dst, const Mem& src);
  void movsxd(Reg dst, Reg src);
  void lea(Size size, Reg dst, const Mem& src);
  void lea(Reg dst, Label label);  // lea dst, [rip + label]

  // Integer arithmetic.
  void alu(Alu op, Size size, Reg dst, Reg src);
  void alu(Alu op, Size size, Reg dst, std::int32_t imm);  // imm8 form when it fits
  void alu(Alu op, Size size, Reg dst, const Mem& src);
  void alu(Alu op, Size size, const Mem& dst, Reg src);
  void test(Size size, Reg a, Reg b);
  void imul(Size size, Reg dst, Reg src);
  void imul(Size size, Reg dst, Reg src, std::int32_t imm);
  void div(Size size, Reg divisor);
  void idiv(Size size, Reg divisor);
  void sign_extend_rax(Size size);  // cdq (k32) / cqo (k64)
  void neg(Size size, Reg reg);
  void not_(Size size, Reg reg);
  void shift_cl(Shift op, Size size, Reg reg);
  void shift(Shift op, Size size, Reg reg, std::uint8_t imm);
  void lzcnt(Size size, Reg dst, Reg src);
  void tzcnt(Size size, Reg dst, Reg src);
  void popcnt(Size size, Reg dst, Reg src);
  void setcc(Cond cond, Reg dst);  // the low byte only
  void cmov(Cond cond, Size size, Reg dst, Reg src);
  void xchg(Size size, Reg a, Reg b);

  // Stack and control.
  void push(Reg reg);
  void pop(Reg reg);
  void ret();
  void ud2();
  void int3();
  // Always rel32: one size to reason about, and patchable.
  void jmp(Label target);
  void jcc(Cond cond, Label target);
  void jmp(Reg target);
  void jmp(const Mem& target);
  void call(Label target);
  void call(Reg target);
  void call(const Mem& target);
  // 4 bytes: offset(target) - offset(base), patched when both are bound (jump tables).
  void emit_label_offset(Label target, Label base);
  void emit_u32(std::uint32_t value);
  void emit_u64(std::uint64_t value);
  // Overwrites 4 bytes already emitted at `offset` (little-endian), e.g. an
  // immediate or displacement known only later.
  void patch_u32(std::size_t offset, std::uint32_t value);
  void align(std::size_t alignment);  // pads with int3

  // Scalar SSE (and SSE4.1 rounding).
  void movf(Fp type, Xmm dst, Xmm src);         // movaps/movapd
  void movf(Fp type, Xmm dst, const Mem& src);  // movss/movsd load
  void movf(Fp type, const Mem& dst, Xmm src);  // movss/movsd store
  void movd(Size size, Xmm dst, Reg src);       // movd (k32) / movq (k64) gpr -> xmm
  void movd(Size size, Reg dst, Xmm src);       // xmm -> gpr
  void fp(FpOp op, Fp type, Xmm dst, Xmm src);
  void fp(FpOp op, Fp type, Xmm dst, const Mem& src);
  void ucomis(Fp type, Xmm a, Xmm b);
  void cvtsi2s(Fp to, Size from, Xmm dst, Reg src);
  void cvtts2si(Fp from, Size to, Reg dst, Xmm src);
  void cvts2s(Fp to, Xmm dst, Xmm src);  // cvtss2sd (to kF64) / cvtsd2ss (to kF32)
  void rounds(Fp type, Xmm dst, Xmm src, std::uint8_t mode);
  void andp(Fp type, Xmm dst, Xmm src);
  void andnp(Fp type, Xmm dst, Xmm src);
  void orp(Fp type, Xmm dst, Xmm src);
  void xorp(Fp type, Xmm dst, Xmm src);
  void andp(Fp type, Xmm dst, const Mem& src);
  void xorp(Fp type, Xmm dst, const Mem& src);

 private:
  // A 4-byte field at `position` that becomes offset(target) + addend, less
  // offset(base) when there is a base (a label difference).
  struct Fixup {
    std::size_t position = 0;
    Label target;
    Label base;  // id 0: none
    std::int64_t addend = 0;
  };
  // The ModRM.reg or ModRM.rm side of an instruction: a register number
  // (0-15) or memory.
  struct Operand {
    std::uint8_t reg = 0;
    const Mem* memory = nullptr;
  };
  // What precedes and follows the ModRM operands.
  struct Encoding {
    std::uint8_t prefix = 0;  // 0x66, 0xF2, 0xF3 or 0
    bool rex_w = false;
    // Whether the ModRM.reg / ModRM.rm register is a byte register: numbers
    // 4-7 name spl/bpl/sil/dil only with a REX prefix (else ah/ch/dh/bh).
    bool byte_reg = false;
    bool byte_rm = false;
    std::uint32_t opcode = 0;        // 1-3 bytes, e.g. 0x0FAF for 0F AF
    std::size_t immediate_size = 0;  // bytes the caller appends after the operands
  };

  void emit(const Encoding& encoding, std::uint8_t reg, Operand rm);
  void emit_memory_operand(std::uint8_t reg, const Mem& memory, std::size_t immediate_size);
  void emit_opcode_plus_reg(bool rex_w, std::uint8_t opcode, Reg reg);
  void reference(Label target, Label base, std::int64_t addend);
  void patch(const Fixup& fixup);
  std::size_t checked_index(Label label) const;
  void put8(std::uint8_t value) { code_.push_back(value); }
  void put32(std::uint32_t value);
  void put64(std::uint64_t value);

  std::vector<std::uint8_t> code_;
  // By label id; -1 while unbound. Id 0 is reserved for "no label".
  std::vector<std::int64_t> label_offsets_{-1};
  // By label id: the fixups waiting for that label to be bound.
  std::vector<std::vector<Fixup>> waiting_{{}};
};

// Finished code in its own executable mapping: mapped read-write, filled,
// then made read+execute, so no page is ever writable and executable at once.
class ExecutableCode {
 public:
  // Throws std::runtime_error when the mapping or the protection change fails.
  static ExecutableCode copy_of(const std::vector<std::uint8_t>& bytes);

  ExecutableCode() = default;
  ExecutableCode(ExecutableCode&& other) noexcept;
  ExecutableCode& operator=(ExecutableCode&& other) noexcept;
  ExecutableCode(const ExecutableCode&) = delete;
  ExecutableCode& operator=(const ExecutableCode&) = delete;
  ~ExecutableCode();

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  // The code at `offset` as a function of type Signature (e.g. int(int)).
  template <typename Signature>
  Signature* function(std::size_t offset = 0) const {
    // Casting an object pointer to a function pointer is conditionally
    // supported; GCC and Clang on x86-64 support it.
    return reinterpret_cast<Signature*>(const_cast<std::uint8_t*>(data_ + offset));
  }

 private:
  void release() noexcept;

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t mapped_ = 0;
};

// Whether this CPU has what the baseline compiler's code uses: SSE4.1,
// POPCNT, LZCNT (ABM) and BMI1 (TZCNT), read with cpuid.
bool cpu_has_baseline_features();

}  // namespace wasmshim::wasm::x64
