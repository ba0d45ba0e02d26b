// The baseline compiler's table, reference and bulk-memory instructions:
// calls to the instance's helpers (baseline_module.cc), and references as
// pointers to the functions' reference objects.
#include <wabt/cast.h>

#include <array>

#include "../runtime_abi.h"
#include "function_compiler_state.h"

namespace wasmshim::wasm::baseline {
namespace {

using x64::Reg;
using x64::Size;

constexpr Reg kScratch = Reg::kR11;

}  // namespace

void FunctionCompiler::call_helper(const void* helper,
                                   std::initializer_list<std::uint32_t> immediates,
                                   std::size_t operands, bool has_result, ValueKind result) {
  static constexpr std::array<Reg, 6> kArguments = {Reg::kRdi, Reg::kRsi, Reg::kRdx,
                                                    Reg::kRcx, Reg::kR8,  Reg::kR9};
  if (helper == nullptr || 1 + immediates.size() + operands > kArguments.size()) {
    unsupported("an instruction without a helper");
  }
  spill_all();
  const std::size_t first = stack_.size() - operands;
  std::size_t next = 0;
  as_.mov(Size::k64, kArguments.at(next++), Reg::kR14);
  for (std::uint32_t immediate : immediates) {
    as_.mov_imm(Size::k32, kArguments.at(next++), immediate);
  }
  for (std::size_t i = 0; i < operands; ++i) {
    as_.mov(int_size(stack_.at(first + i).kind), kArguments.at(next++), slot_mem(first + i));
  }
  as_.alu(x64::Alu::kAnd, Size::k64, Reg::kRsp, -16);
  as_.mov_imm(Size::k64, kScratch, reinterpret_cast<std::uintptr_t>(helper));
  as_.call(kScratch);
  restore_stack_pointer();
  stack_.resize(first);
  if (has_result) {
    end_instruction();
    const Reg value = claim_gpr(Reg::kRax);
    if (result == ValueKind::kI32) {
      as_.mov(Size::k32, value, value);  // the ABI leaves the upper half undefined
    }
    push_gpr(result, value);
  }
}

bool FunctionCompiler::compile_reference_or_bulk(const wabt::Expr& expr) {
  const InstanceLayout::Helpers& helpers = layout_.helpers;
  const auto table = [this](const wabt::Var& var) {
    return static_cast<std::uint32_t>(module_.GetTableIndex(var));
  };
  switch (expr.type()) {
    case wabt::ExprType::MemoryFill:
      call_helper(helpers.memory_fill, {}, 3, false, ValueKind::kI32);
      return true;
    case wabt::ExprType::MemoryCopy:
      call_helper(helpers.memory_copy, {}, 3, false, ValueKind::kI32);
      return true;
    case wabt::ExprType::MemoryInit: {
      const auto& var = wabt::cast<wabt::MemoryInitExpr>(&expr)->var;
      call_helper(helpers.memory_init,
                  {static_cast<std::uint32_t>(module_.GetDataSegmentIndex(var))}, 3, false,
                  ValueKind::kI32);
      return true;
    }
    case wabt::ExprType::DataDrop: {
      const auto& var = wabt::cast<wabt::DataDropExpr>(&expr)->var;
      call_helper(helpers.data_drop, {static_cast<std::uint32_t>(module_.GetDataSegmentIndex(var))},
                  0, false, ValueKind::kI32);
      return true;
    }
    case wabt::ExprType::TableGet:
      call_helper(helpers.table_get, {table(wabt::cast<wabt::TableGetExpr>(&expr)->var)}, 1, true,
                  ValueKind::kRef);
      return true;
    case wabt::ExprType::TableSet:
      call_helper(helpers.table_set, {table(wabt::cast<wabt::TableSetExpr>(&expr)->var)}, 2, false,
                  ValueKind::kI32);
      return true;
    case wabt::ExprType::TableSize:
      call_helper(helpers.table_size, {table(wabt::cast<wabt::TableSizeExpr>(&expr)->var)}, 0, true,
                  ValueKind::kI32);
      return true;
    case wabt::ExprType::TableGrow:
      call_helper(helpers.table_grow, {table(wabt::cast<wabt::TableGrowExpr>(&expr)->var)}, 2, true,
                  ValueKind::kI32);
      return true;
    case wabt::ExprType::TableFill:
      call_helper(helpers.table_fill, {table(wabt::cast<wabt::TableFillExpr>(&expr)->var)}, 3,
                  false, ValueKind::kI32);
      return true;
    case wabt::ExprType::TableCopy: {
      const auto* copy = wabt::cast<wabt::TableCopyExpr>(&expr);
      call_helper(helpers.table_copy, {table(copy->dst_table), table(copy->src_table)}, 3, false,
                  ValueKind::kI32);
      return true;
    }
    case wabt::ExprType::TableInit: {
      const auto* init = wabt::cast<wabt::TableInitExpr>(&expr);
      call_helper(helpers.table_init,
                  {table(init->table_index),
                   static_cast<std::uint32_t>(module_.GetElemSegmentIndex(init->segment_index))},
                  3, false, ValueKind::kI32);
      return true;
    }
    case wabt::ExprType::ElemDrop: {
      const auto& var = wabt::cast<wabt::ElemDropExpr>(&expr)->var;
      call_helper(helpers.elem_drop, {static_cast<std::uint32_t>(module_.GetElemSegmentIndex(var))},
                  0, false, ValueKind::kI32);
      return true;
    }
    case wabt::ExprType::RefNull:
      push_const(ValueKind::kRef, 0);
      return true;
    case wabt::ExprType::RefFunc: {
      const wabt::Index function = module_.GetFuncIndex(wabt::cast<wabt::RefFuncExpr>(&expr)->var);
      if (function < module_.num_func_imports) {
        unsupported("a reference to an imported function");
      }
      const Reg reg = alloc_gpr();
      as_.lea(Size::k64, reg,
              x64::mem(Reg::kR14,
                       layout_.function_refs +
                           static_cast<std::int32_t>(sizeof(abi::FuncRef) *
                                                     (function - module_.num_func_imports))));
      push_gpr(ValueKind::kRef, reg);
      return true;
    }
    case wabt::ExprType::RefIsNull: {
      const Reg value = pop_gpr();
      as_.test(Size::k64, value, value);
      as_.setcc(x64::Cond::kE, value);
      as_.movzx8(value, value);
      push_gpr(ValueKind::kI32, value);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace wasmshim::wasm::baseline
