// Private: the state of the baseline compiler while it walks one function:
// the abstract operand stack, the registers its values occupy, the control
// stack and the frame.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "function_compiler.h"

namespace wasmshim::wasm::baseline {

// kRef: a funcref or externref, a pointer (null is 0).
enum class ValueKind : std::uint8_t { kI32, kI64, kF32, kF64, kRef };

// Throws UnsupportedByBaseline for types the tier does not handle yet.
ValueKind value_kind(wabt::Type type);
inline x64::Size int_size(ValueKind kind) {
  return kind == ValueKind::kI64 || kind == ValueKind::kRef ? x64::Size::k64 : x64::Size::k32;
}
inline bool is_float(ValueKind kind) {
  return kind == ValueKind::kF32 || kind == ValueKind::kF64;
}
inline x64::Fp fp_type(ValueKind kind) {
  return kind == ValueKind::kF64 ? x64::Fp::kF64 : x64::Fp::kF32;
}

// Where a value on the operand stack is now. kSlot is always the slot of
// the value's own depth; kLocal is a local's value not read yet (read
// before the local changes).
enum class Where : std::uint8_t { kConst, kGpr, kXmm, kSlot, kLocal };

struct StackValue {
  ValueKind kind = ValueKind::kI32;
  Where where = Where::kSlot;
  x64::Reg gpr = x64::Reg::kRax;
  x64::Xmm xmm = x64::Xmm::kXmm0;
  std::uint32_t local = 0;
  std::uint64_t bits = 0;  // kConst; an i32 zero-extended
};

// The right operand of an integer instruction.
struct Operand {
  enum class Form : std::uint8_t { kImm, kMem, kReg };
  Form form = Form::kReg;
  std::int32_t imm = 0;
  x64::Mem mem;
  x64::Reg reg = x64::Reg::kRax;
};

struct Control {
  enum class Kind : std::uint8_t { kFunction, kBlock, kLoop, kIf };
  Kind kind = Kind::kBlock;
  x64::Label target;                   // end (block, if, function) or start (loop)
  x64::Label else_label;               // kIf: the false arm
  std::size_t height = 0;              // operand stack height below the block's params
  const std::string* label = nullptr;  // the block's name, which branches may use
  std::vector<ValueKind> params;
  std::vector<ValueKind> results;
  // What a branch to it carries: a loop's params, else the results.
  const std::vector<ValueKind>& branch_values() const {
    return kind == Kind::kLoop ? params : results;
  }
};

class FunctionCompiler {
 public:
  FunctionCompiler(x64::Assembler& as, const wabt::Module& module, const wabt::Func& func,
                   const InstanceLayout& layout, const ModuleLabels& labels);
  void compile(x64::Label entry);

 private:
  // Walk and control flow (function_compiler.cc). compile_* return false
  // when the code after them cannot be reached.
  bool compile_list(const wabt::ExprList& exprs);
  bool compile_expr(const wabt::Expr& expr);
  bool compile_block(const wabt::Block& block, Control::Kind kind);
  bool compile_if(const wabt::IfExpr& expr);
  // The control-stack depth a branch names, by index or by its block's name.
  std::size_t branch_depth(const wabt::Var& target) const;
  void branch_to(std::size_t depth);
  void branch_if(std::size_t depth);
  void branch_table(const wabt::BrTableExpr& expr);
  void store_results_and_return();
  void call(wabt::Index function);
  void call_indirect(const wabt::CallIndirectExpr& expr);
  // After the arguments are in their slots: the call through `target`
  // (a label or a memory operand), then the results in their slots.
  void call_with_arguments(const wabt::FuncSignature& sig, const x64::Label* label,
                           const x64::Mem* target);
  void call_import(wabt::Index function);
  void memory_grow();
  // A helper (InstanceLayout::Helpers) on the top `operands` values, with
  // `immediates` before them; its result (i32 or ref) pushed when it has one.
  void call_helper(const void* helper, std::initializer_list<std::uint32_t> immediates,
                   std::size_t operands, bool has_result, ValueKind result);
  bool compile_reference_or_bulk(const wabt::Expr& expr);
  void signature_of(const wabt::BlockDeclaration& decl, std::vector<ValueKind>& params,
                    std::vector<ValueKind>& results) const;
  // Moves the top `count` values into the slots from `height` up; all
  // values are in slots already.
  void move_top_to(std::size_t count, std::size_t height);
  void emit_prologue();
  void emit_epilogue();
  void restore_stack_pointer();
  [[noreturn]] void unsupported(const std::string& what) const;

  // Floating-point instructions (function_compiler_float.cc).
  bool compile_float(const wabt::Expr& expr);
  void float_binary(wabt::Opcode opcode);
  void float_min_max(x64::Fp type, bool is_min);
  void float_unary(wabt::Opcode opcode);
  void float_sign(wabt::Opcode opcode);
  void float_compare(wabt::Opcode opcode);
  void float_convert(wabt::Opcode opcode);
  void convert_from_unsigned64(x64::Fp to);
  void truncate(wabt::Opcode opcode);
  void float_select();
  // An f64 constant in `reg` (through the scratch register).
  void load_f64(x64::Xmm reg, double value);

  // Integer and memory instructions (function_compiler_ops.cc).
  bool compile_operation(const wabt::Expr& expr);
  void binary(wabt::Opcode opcode);
  void compare(wabt::Opcode opcode);
  void unary(wabt::Opcode opcode);
  void convert(wabt::Opcode opcode);
  void alu(x64::Alu op, x64::Size size);
  void multiply(x64::Size size);
  void divide(wabt::Opcode opcode, x64::Size size);
  void shift(x64::Shift op, x64::Size size);
  void select();
  void load(const wabt::LoadExpr& expr);
  void store(const wabt::StoreExpr& expr);
  // gs:[address + offset], with `address` a register holding a zero-extended
  // 32-bit address.
  x64::Mem linear_memory(x64::Reg address, std::uint64_t offset);

  // The operand stack and registers (function_compiler_stack.cc).
  x64::Mem local_mem(std::uint32_t index) const;
  x64::Mem slot_mem(std::size_t depth) const;
  ValueKind local_kind(std::uint32_t index) const;
  void push_const(ValueKind kind, std::uint64_t bits);
  void push_gpr(ValueKind kind, x64::Reg reg);
  void push_xmm(ValueKind kind, x64::Xmm reg);
  void push_slot(ValueKind kind);
  void push_local(std::uint32_t index);
  StackValue pop();
  // The popped value in a register this instruction may change.
  x64::Reg pop_gpr();
  x64::Reg into_gpr(const StackValue& value);
  Operand pop_operand(bool allow_imm, bool allow_mem);
  x64::Reg alloc_gpr();
  x64::Xmm alloc_xmm();
  // The popped value in an XMM register this instruction may change.
  x64::Xmm pop_xmm();
  x64::Xmm into_xmm(const StackValue& value);
  // A popped float operand: a register, or the memory it is in.
  struct FloatOperand {
    bool in_memory = false;
    x64::Xmm reg = x64::Xmm::kXmm0;
    x64::Mem mem;
  };
  FloatOperand pop_float_operand();
  // `wanted` for this instruction; a stack value in it goes to its slot.
  // The caller has moved any popped operand it still needs out of it.
  x64::Reg claim_gpr(x64::Reg wanted);
  // A value popped from `depth` into `reg` (a register move, a constant, a
  // load of its local or slot).
  void load_value(const StackValue& value, std::size_t depth, x64::Reg reg, x64::Size size);
  void spill_value(std::size_t depth);
  void spill_all();
  // At a label every path reaches with the values in their slots: the
  // stack is `height` values, then `kinds`, all in slots; no register
  // holds any.
  void reset_to_slots(std::size_t height, const std::vector<ValueKind>& kinds);
  // Values still reading local `index` take its current value first.
  void settle_local(std::uint32_t index);
  void copy_qword(const x64::Mem& from, const x64::Mem& to);
  void end_instruction() {
    held_ = 0;
    held_xmm_ = 0;
  }
  void note_depth(std::size_t depth);

  x64::Assembler& as_;
  const wabt::Module& module_;
  const wabt::Func& func_;
  const InstanceLayout& layout_;
  const ModuleLabels& labels_;

  std::vector<StackValue> stack_;
  std::vector<Control> controls_;
  std::array<int, 16> gpr_owner_{};  // depth of the value in it, or -1
  std::uint32_t held_ = 0;           // registers popped by this instruction
  std::array<int, 16> xmm_owner_{};
  std::uint32_t held_xmm_ = 0;
  std::vector<ValueKind> local_kinds_;
  std::size_t params_ = 0;
  std::size_t argument_area_ = 0;
  std::size_t extra_locals_ = 0;
  std::size_t max_depth_ = 0;
  std::vector<std::size_t> frame_patches_;  // imm32/disp32 fields that hold -frame size
  x64::Label return_label_;
};

}  // namespace wasmshim::wasm::baseline
