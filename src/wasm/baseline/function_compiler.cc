// The baseline compiler's walk over a function body: blocks, branches,
// calls, the frame. Instructions on values are in function_compiler_ops.cc.
#include "function_compiler.h"

#include <wabt/cast.h>

#include <algorithm>

#include "../runtime_abi.h"
#include "function_compiler_state.h"

namespace wasmshim::wasm::baseline {
namespace {

using x64::Reg;
using x64::Size;

constexpr Reg kScratch = Reg::kR11;
// A displacement that always takes the 32-bit form, patched with the
// frame's size once the body is compiled.
constexpr std::int32_t kFramePlaceholder = -0x10000;

// SysV argument registers after the WASI context in rdi.
constexpr std::array<Reg, 5> kHostIntArguments = {Reg::kRsi, Reg::kRdx, Reg::kRcx, Reg::kR8,
                                                  Reg::kR9};

}  // namespace

std::vector<std::uint32_t> signature_ids(const wabt::Module& module) {
  std::vector<std::uint32_t> ids;
  std::vector<const wabt::FuncSignature*> distinct;
  for (const wabt::TypeEntry* entry : module.types) {
    const auto* type = wabt::dyn_cast<wabt::FuncType>(entry);
    std::uint32_t id = 0;
    for (std::size_t i = 0; type != nullptr && i < distinct.size() && id == 0; ++i) {
      if (distinct[i]->param_types == type->sig.param_types &&
          distinct[i]->result_types == type->sig.result_types) {
        id = static_cast<std::uint32_t>(i + 1);
      }
    }
    if (type != nullptr && id == 0) {
      distinct.push_back(&type->sig);
      id = static_cast<std::uint32_t>(distinct.size());
    }
    ids.push_back(id);
  }
  return ids;
}

std::size_t argument_slots(const wabt::FuncSignature& signature) {
  return std::max(signature.param_types.size(), signature.result_types.size());
}

FunctionCompiler::FunctionCompiler(x64::Assembler& as, const wabt::Module& module,
                                   const wabt::Func& func, const InstanceLayout& layout,
                                   const ModuleLabels& labels)
    : as_(as), module_(module), func_(func), layout_(layout), labels_(labels) {
  gpr_owner_.fill(-1);
  xmm_owner_.fill(-1);
  params_ = func.GetNumParams();
  argument_area_ = argument_slots(func.decl.sig);
  extra_locals_ = func.GetNumLocals();
  for (wabt::Index i = 0; i < func.GetNumParamsAndLocals(); ++i) {
    local_kinds_.push_back(value_kind(func.GetLocalType(i)));
  }
}

void FunctionCompiler::unsupported(const std::string& what) const {
  throw UnsupportedByBaseline("the baseline tier does not compile " + what + " (in function " +
                              (func_.name.empty() ? std::string("without a name") : func_.name) +
                              ")");
}

void FunctionCompiler::compile(x64::Label entry) {
  as_.bind(entry);
  emit_prologue();
  return_label_ = as_.new_label();
  Control function;
  function.kind = Control::Kind::kFunction;
  function.target = return_label_;
  for (wabt::Type type : func_.decl.sig.result_types) {
    function.results.push_back(value_kind(type));
  }
  controls_.push_back(function);
  if (compile_list(func_.exprs)) {
    store_results_and_return();
  }
  as_.bind(return_label_);
  emit_epilogue();
  // The frame holds the locals and every operand slot, 16-byte aligned.
  const std::size_t frame = (8 * (extra_locals_ + max_depth_) + 15) / 16 * 16;
  for (std::size_t field : frame_patches_) {
    as_.patch_u32(field, static_cast<std::uint32_t>(-static_cast<std::int32_t>(frame)));
  }
}

void FunctionCompiler::emit_prologue() {
  as_.push(Reg::kRbp);
  as_.mov(Size::k64, Reg::kRbp, Reg::kRsp);
  restore_stack_pointer();
  // Locals beyond the parameters start at zero.
  if (extra_locals_ <= 8) {
    for (std::size_t i = 0; i < extra_locals_; ++i) {
      as_.mov_imm(Size::k64, x64::mem(Reg::kRbp, -static_cast<std::int32_t>(8 * (i + 1))), 0);
    }
  } else {
    const x64::Label loop = as_.new_label();
    as_.lea(Size::k64, kScratch,
            x64::mem(Reg::kRbp, -static_cast<std::int32_t>(8 * extra_locals_)));
    as_.bind(loop);
    as_.mov_imm(Size::k64, x64::mem(kScratch), 0);
    as_.alu(x64::Alu::kAdd, Size::k64, kScratch, 8);
    as_.alu(x64::Alu::kCmp, Size::k64, kScratch, Reg::kRbp);
    as_.jcc(x64::Cond::kB, loop);
  }
}

void FunctionCompiler::restore_stack_pointer() {
  as_.lea(Size::k64, Reg::kRsp, x64::mem(Reg::kRbp, kFramePlaceholder));
  frame_patches_.push_back(as_.size() - 4);
}

void FunctionCompiler::emit_epilogue() {
  as_.mov(Size::k64, Reg::kRsp, Reg::kRbp);
  as_.pop(Reg::kRbp);
  as_.ret();
}

bool FunctionCompiler::compile_list(const wabt::ExprList& exprs) {
  for (const wabt::Expr& expr : exprs) {
    if (!compile_expr(expr)) {
      return false;  // the rest of the list cannot be reached
    }
    end_instruction();
  }
  return true;
}

void FunctionCompiler::signature_of(const wabt::BlockDeclaration& decl,
                                    std::vector<ValueKind>& params,
                                    std::vector<ValueKind>& results) const {
  const wabt::FuncSignature* sig = &decl.sig;
  if (decl.has_func_type) {
    const wabt::FuncType* type = module_.GetFuncType(decl.type_var);
    if (type == nullptr) {
      unsupported("a block of an unknown type");
    }
    sig = &type->sig;
  }
  for (wabt::Type type : sig->param_types) {
    params.push_back(value_kind(type));
  }
  for (wabt::Type type : sig->result_types) {
    results.push_back(value_kind(type));
  }
}

void FunctionCompiler::move_top_to(std::size_t count, std::size_t height) {
  const std::size_t from = stack_.size() - count;
  if (from == height) {
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    copy_qword(slot_mem(from + i), slot_mem(height + i));
  }
}

bool FunctionCompiler::compile_block(const wabt::Block& block, Control::Kind kind) {
  Control control;
  control.kind = kind;
  signature_of(block.decl, control.params, control.results);
  control.height = stack_.size() - control.params.size();
  control.target = as_.new_label();
  control.label = &block.label;
  spill_all();
  if (kind == Control::Kind::kLoop) {
    as_.bind(control.target);
  }
  controls_.push_back(control);
  const bool falls_through = compile_list(block.exprs);
  if (falls_through) {
    spill_all();
    if (kind != Control::Kind::kLoop) {
      move_top_to(control.results.size(), control.height);
    }
  }
  controls_.pop_back();
  // Values below the block were in their slots before it and stay there.
  if (kind == Control::Kind::kLoop) {
    // Only the fall-through reaches a loop's end: its results are in place.
    reset_to_slots(control.height, control.results);
    return falls_through;
  }
  as_.bind(control.target);
  reset_to_slots(control.height, control.results);
  return true;  // a branch may reach the end even when the body does not
}

bool FunctionCompiler::compile_if(const wabt::IfExpr& expr) {
  Control control;
  control.kind = Control::Kind::kIf;
  signature_of(expr.true_.decl, control.params, control.results);
  control.label = &expr.true_.label;
  const Reg condition = pop_gpr();
  control.height = stack_.size() - control.params.size();
  control.target = as_.new_label();
  control.else_label = as_.new_label();
  spill_all();
  as_.test(Size::k32, condition, condition);
  as_.jcc(x64::Cond::kE, control.else_label);
  end_instruction();
  controls_.push_back(control);
  if (compile_list(expr.true_.exprs)) {
    spill_all();
    move_top_to(control.results.size(), control.height);
    as_.jmp(control.target);
  }
  // The false arm starts from the params, in their slots.
  reset_to_slots(control.height, control.params);
  as_.bind(control.else_label);
  if (compile_list(expr.false_)) {
    spill_all();
    move_top_to(control.results.size(), control.height);
  }
  controls_.pop_back();
  as_.bind(control.target);
  reset_to_slots(control.height, control.results);
  return true;
}

std::size_t FunctionCompiler::branch_depth(const wabt::Var& target) const {
  if (target.is_index()) {
    return target.index();
  }
  for (std::size_t depth = 0; depth < controls_.size(); ++depth) {
    const Control& control = controls_[controls_.size() - 1 - depth];
    if (control.label != nullptr && *control.label == target.name()) {
      return depth;
    }
  }
  unsupported("a branch to the unknown label " + target.name());
}

void FunctionCompiler::branch_to(std::size_t depth) {
  const Control& target = controls_.at(controls_.size() - 1 - depth);
  spill_all();
  if (target.kind == Control::Kind::kFunction) {
    store_results_and_return();
    return;
  }
  move_top_to(target.branch_values().size(), target.height);
  as_.jmp(target.target);
}

void FunctionCompiler::branch_if(std::size_t depth) {
  const Reg condition = pop_gpr();
  spill_all();
  const Control& target = controls_.at(controls_.size() - 1 - depth);
  const std::size_t carried = target.branch_values().size();
  as_.test(Size::k32, condition, condition);
  if (target.kind != Control::Kind::kFunction && stack_.size() - carried == target.height) {
    as_.jcc(x64::Cond::kNe, target.target);
    return;
  }
  const x64::Label stay = as_.new_label();
  as_.jcc(x64::Cond::kE, stay);
  branch_to(depth);
  as_.bind(stay);
}

void FunctionCompiler::branch_table(const wabt::BrTableExpr& expr) {
  const Reg index = pop_gpr();
  spill_all();
  // One stub per target moves what the branch carries, then jumps.
  std::vector<x64::Label> stubs;
  for (std::size_t i = 0; i <= expr.targets.size(); ++i) {
    stubs.push_back(as_.new_label());
  }
  const x64::Label table = as_.new_label();
  as_.alu(x64::Alu::kCmp, Size::k32, index, static_cast<std::int32_t>(expr.targets.size()));
  as_.jcc(x64::Cond::kAe, stubs.back());
  as_.lea(kScratch, table);
  as_.movsxd(index, x64::mem(kScratch, index, 4));
  as_.alu(x64::Alu::kAdd, Size::k64, index, kScratch);
  as_.jmp(index);
  as_.align(4);
  as_.bind(table);
  for (std::size_t i = 0; i < expr.targets.size(); ++i) {
    as_.emit_label_offset(stubs[i], table);
  }
  for (std::size_t i = 0; i <= expr.targets.size(); ++i) {
    as_.bind(stubs[i]);
    const wabt::Var& var = i < expr.targets.size() ? expr.targets[i] : expr.default_target;
    branch_to(branch_depth(var));
  }
}

void FunctionCompiler::store_results_and_return() {
  spill_all();
  const std::size_t results = func_.decl.sig.result_types.size();
  const std::size_t first = stack_.size() - results;
  for (std::size_t k = 0; k < results; ++k) {
    copy_qword(slot_mem(first + k),
               x64::mem(Reg::kRbp, static_cast<std::int32_t>(16 + 8 * (argument_area_ - 1 - k))));
  }
  as_.jmp(return_label_);
}

void FunctionCompiler::call(wabt::Index function) {
  if (function < module_.num_func_imports) {
    call_import(function);
    return;
  }
  spill_all();
  const x64::Label label = labels_.functions.at(function - module_.num_func_imports);
  call_with_arguments(module_.funcs.at(function)->decl.sig, &label, nullptr);
}

void FunctionCompiler::call_with_arguments(const wabt::FuncSignature& sig, const x64::Label* label,
                                           const x64::Mem* target) {
  const std::size_t first = stack_.size() - sig.param_types.size();
  const std::size_t area = argument_slots(sig);
  note_depth(first + area);
  // rsp at the last argument slot: the callee finds its arguments there.
  if (area > 0) {
    as_.lea(Size::k64, Reg::kRsp, slot_mem(first + area - 1));
  } else {
    as_.lea(Size::k64, Reg::kRsp, slot_mem(first > 0 ? first - 1 : 0));
  }
  if (label != nullptr) {
    as_.call(*label);
  } else {
    as_.call(*target);
  }
  restore_stack_pointer();
  stack_.resize(first);
  for (wabt::Type type : sig.result_types) {
    push_slot(value_kind(type));
  }
}

// The table entry's signature must be the one the instruction names; a
// null entry's is 0, which no signature has.
void FunctionCompiler::call_indirect(const wabt::CallIndirectExpr& expr) {
  const wabt::Index table = module_.GetTableIndex(expr.table);
  const wabt::Index type = module_.GetFuncTypeIndex(expr.decl);
  const wabt::FuncType* func_type = module_.GetFuncType(wabt::Var(type, wabt::Location()));
  if (func_type == nullptr || table >= layout_.tables.size()) {
    unsupported("an indirect call through an unknown table or type");
  }
  const Reg index = pop_gpr();
  spill_all();
  const Reg entry = alloc_gpr();
  const std::int32_t table_at = layout_.tables[table];
  as_.alu(
      x64::Alu::kCmp, Size::k32, index,
      x64::mem(Reg::kR14, table_at + static_cast<std::int32_t>(offsetof(abi::FuncRefTable, size))));
  as_.jcc(x64::Cond::kAe, labels_.trap_indirect_call);
  as_.mov(
      Size::k64, entry,
      x64::mem(Reg::kR14, table_at + static_cast<std::int32_t>(offsetof(abi::FuncRefTable, data))));
  static_assert(sizeof(abi::FuncRef) == 24);
  as_.lea(Size::k64, index, x64::mem(index, index, 2));  // index * 3
  as_.lea(Size::k64, entry, x64::mem(entry, index, 8));  // + index * 24
  as_.mov_imm(Size::k32, kScratch, layout_.signature_ids.at(type));
  as_.alu(x64::Alu::kCmp, Size::k32, kScratch,
          x64::mem(entry, static_cast<std::int32_t>(offsetof(abi::FuncRef, func_type))));
  as_.jcc(x64::Cond::kNe, labels_.trap_indirect_call);
  const x64::Mem target = x64::mem(entry, static_cast<std::int32_t>(offsetof(abi::FuncRef, func)));
  call_with_arguments(func_type->sig, nullptr, &target);
}

void FunctionCompiler::call_import(wabt::Index function) {
  const wabt::Func& callee = *module_.funcs.at(function);
  const wabt::FuncSignature& sig = callee.decl.sig;
  if (sig.result_types.size() > 1) {
    unsupported("an import with more than one result");
  }
  spill_all();
  const std::size_t params = sig.param_types.size();
  const std::size_t first = stack_.size() - params;
  std::vector<std::size_t> on_stack;
  std::size_t next_register = 0;
  for (std::size_t k = 0; k < params; ++k) {
    if (is_float(value_kind(sig.param_types[k]))) {
      unsupported("an import taking floating-point values");
    }
    if (next_register < kHostIntArguments.size()) {
      ++next_register;
    } else {
      on_stack.push_back(first + k);
    }
  }
  as_.alu(x64::Alu::kAnd, Size::k64, Reg::kRsp, -16);
  if (on_stack.size() % 2 != 0) {
    as_.alu(x64::Alu::kSub, Size::k64, Reg::kRsp, 8);
  }
  for (std::size_t i = on_stack.size(); i > 0; --i) {  // the last argument first
    as_.mov(Size::k64, kScratch, slot_mem(on_stack[i - 1]));
    as_.push(kScratch);
  }
  for (std::size_t k = 0; k < std::min(params, kHostIntArguments.size()); ++k) {
    as_.mov(int_size(value_kind(sig.param_types[k])), kHostIntArguments.at(k), slot_mem(first + k));
  }
  as_.mov(Size::k64, Reg::kRdi, x64::mem(Reg::kR14, layout_.wasi));
  as_.mov(Size::k64, kScratch, x64::mem(Reg::kR14, layout_.imports));
  as_.call(x64::mem(kScratch, static_cast<std::int32_t>(8 * function)));
  restore_stack_pointer();
  stack_.resize(first);
  if (!sig.result_types.empty()) {
    const ValueKind kind = value_kind(sig.result_types[0]);
    if (is_float(kind)) {
      unsupported("an import returning a floating-point value");
    }
    const Reg result = claim_gpr(Reg::kRax);
    if (kind == ValueKind::kI32) {
      as_.mov(Size::k32, result, result);  // the ABI leaves the upper half undefined
    }
    push_gpr(kind, result);
  }
}

void FunctionCompiler::memory_grow() {
  const StackValue delta = pop();
  spill_all();
  const Reg pages = into_gpr(delta);
  as_.mov(Size::k32, Reg::kRsi, pages);
  as_.lea(Size::k64, Reg::kRdi, x64::mem(Reg::kR14, layout_.memory));
  as_.mov(Size::k64, kScratch, x64::mem(Reg::kR14, layout_.runtime));
  as_.alu(x64::Alu::kAnd, Size::k64, Reg::kRsp, -16);
  as_.call(x64::mem(kScratch, static_cast<std::int32_t>(offsetof(abi::Runtime, grow_memory))));
  restore_stack_pointer();
  end_instruction();
  const Reg result = claim_gpr(Reg::kRax);
  as_.mov(Size::k32, result, result);  // the ABI leaves the upper half undefined
  push_gpr(ValueKind::kI32, result);
}

bool FunctionCompiler::compile_expr(const wabt::Expr& expr) {
  switch (expr.type()) {
    case wabt::ExprType::Block:
      return compile_block(wabt::cast<wabt::BlockExpr>(&expr)->block, Control::Kind::kBlock);
    case wabt::ExprType::Loop:
      return compile_block(wabt::cast<wabt::LoopExpr>(&expr)->block, Control::Kind::kLoop);
    case wabt::ExprType::If:
      return compile_if(*wabt::cast<wabt::IfExpr>(&expr));
    case wabt::ExprType::Br:
      branch_to(branch_depth(wabt::cast<wabt::BrExpr>(&expr)->var));
      return false;
    case wabt::ExprType::BrIf:
      branch_if(branch_depth(wabt::cast<wabt::BrIfExpr>(&expr)->var));
      return true;
    case wabt::ExprType::BrTable:
      branch_table(*wabt::cast<wabt::BrTableExpr>(&expr));
      return false;
    case wabt::ExprType::Return:
      store_results_and_return();
      return false;
    case wabt::ExprType::Unreachable:
      as_.jmp(labels_.trap_unreachable);
      return false;
    case wabt::ExprType::Call:
      call(module_.GetFuncIndex(wabt::cast<wabt::CallExpr>(&expr)->var));
      return true;
    case wabt::ExprType::CallIndirect:
      call_indirect(*wabt::cast<wabt::CallIndirectExpr>(&expr));
      return true;
    case wabt::ExprType::MemoryGrow:
      memory_grow();
      return true;
    default:
      return compile_reference_or_bulk(expr) || compile_operation(expr);
  }
}

void compile_function(x64::Assembler& assembler, const wabt::Module& module, const wabt::Func& func,
                      const InstanceLayout& layout, const ModuleLabels& labels, x64::Label entry) {
  FunctionCompiler(assembler, module, func, layout, labels).compile(entry);
}

void emit_trap_stubs(x64::Assembler& assembler, const InstanceLayout& layout,
                     const ModuleLabels& labels) {
  const std::pair<x64::Label, abi::Trap> stubs[] = {
      {labels.trap_unreachable, abi::kTrapUnreachable},
      {labels.trap_divide_by_zero, abi::kTrapDivideByZero},
      {labels.trap_integer_overflow, abi::kTrapIntegerOverflow},
      {labels.trap_invalid_conversion, abi::kTrapInvalidConversion},
      {labels.trap_indirect_call, abi::kTrapIndirectCall},
      {labels.trap_out_of_bounds, abi::kTrapOutOfBounds},
  };
  for (const auto& [label, trap] : stubs) {
    assembler.bind(label);
    assembler.mov_imm(Size::k32, Reg::kRdi, static_cast<std::uint64_t>(trap));
    assembler.mov(Size::k64, kScratch, x64::mem(Reg::kR14, layout.runtime));
    assembler.alu(x64::Alu::kAnd, Size::k64, Reg::kRsp, -16);
    assembler.call(x64::mem(kScratch, static_cast<std::int32_t>(offsetof(abi::Runtime, trap))));
    assembler.ud2();
  }
}

}  // namespace wasmshim::wasm::baseline
