#include "simd_lowering.h"

#include <wabt/cast.h>
#include <wabt/ir.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ir_emit.h"
#include "operand_stack.h"
#include "wasmshim/wasm/module.h"

namespace wasmshim::wasm {
namespace {

using ir::emit;
using ir::i32_const;
using ir::i64_const;
using ir::load;
using ir::local_get;
using ir::local_set;
using ir::store;
using ir::var;
using wabt::Index;
using wabt::Opcode;
using wabt::Type;

bool is_v128(Type type) {
  return type == Type::V128;
}

// v128 -> i64 i64 (low half first, as it sits in memory).
wabt::TypeVector split(const wabt::TypeVector& types) {
  wabt::TypeVector out;
  for (Type type : types) {
    if (is_v128(type)) {
      out.push_back(Type::I64);
      out.push_back(Type::I64);
    } else {
      out.push_back(type);
    }
  }
  return out;
}

void split_signature(wabt::FuncSignature& sig) {
  sig.param_types = split(sig.param_types);
  sig.result_types = split(sig.result_types);
}

std::string helper_name(std::string_view operation) {
  std::string name(kSimdHelperPrefix);
  for (char ch : operation) {
    name += ch == '.' ? '_' : ch;
  }
  return name;
}

// The scalar access that stands in for one lane of a lane load or store.
struct LaneAccess {
  Opcode load;
  Opcode store;
  Opcode replace_lane;
  Opcode extract_lane;
  Type scalar;
};

LaneAccess lane_access(wabt::Address memory_size) {
  switch (memory_size) {
    case 1:
      return {Opcode::I32Load8U, Opcode::I32Store8, Opcode::I8X16ReplaceLane,
              Opcode::I8X16ExtractLaneU, Type::I32};
    case 2:
      return {Opcode::I32Load16U, Opcode::I32Store16, Opcode::I16X8ReplaceLane,
              Opcode::I16X8ExtractLaneU, Type::I32};
    case 4:
      return {Opcode::I32Load, Opcode::I32Store, Opcode::I32X4ReplaceLane, Opcode::I32X4ExtractLane,
              Type::I32};
    default:
      return {Opcode::I64Load, Opcode::I64Store, Opcode::I64X2ReplaceLane, Opcode::I64X2ExtractLane,
              Type::I64};
  }
}

// The splat that finishes a v128.loadN_splat after a scalar load.
std::pair<Opcode, Opcode> splat_parts(Opcode load_splat) {
  switch (load_splat) {
    case Opcode::V128Load8Splat:
      return {Opcode::I32Load8U, Opcode::I8X16Splat};
    case Opcode::V128Load16Splat:
      return {Opcode::I32Load16U, Opcode::I16X8Splat};
    case Opcode::V128Load32Splat:
      return {Opcode::I32Load, Opcode::I32X4Splat};
    default:
      return {Opcode::I64Load, Opcode::I64X2Splat};
  }
}

bool touches_v128(Opcode opcode) {
  for (Type type : opcode_params(opcode)) {
    if (is_v128(type)) {
      return true;
    }
  }
  return is_v128(opcode.GetResultType());
}

class Lowering {
 public:
  Lowering(const std::string& file, wabt::Module& module) : file_(file), module_(module) {}

  void run() {
    check_imports();
    record_originals();
    split_globals();
    const std::size_t defined_count = module_.funcs.size();
    for (std::size_t i = module_.num_func_imports; i < defined_count; ++i) {
      lower_function(*module_.funcs[i]);
    }
    split_declarations();
  }

 private:
  using Exprs = wabt::ExprList;

  // Per function: where each original local went, and scratch locals made
  // on first use.
  struct Locals {
    std::vector<Type> original;  // params, then locals
    std::vector<Index> index;    // original index -> first new index
    wabt::TypeVector added;      // new non-param locals, scratch included
    Index next = 0;              // the next new index
    std::map<std::pair<Type, int>, Index> scratch;
  };

  [[noreturn]] void refuse(const std::string& reason) const { throw ModuleError(file_, 0, reason); }

  void check_imports() const {
    for (const wabt::Import* import : module_.imports) {
      bool v128 = false;
      if (const auto* func = wabt::dyn_cast<wabt::FuncImport>(import)) {
        for (Type t : func->func.decl.sig.param_types) {
          v128 = v128 || is_v128(t);
        }
        for (Type t : func->func.decl.sig.result_types) {
          v128 = v128 || is_v128(t);
        }
      } else if (const auto* global = wabt::dyn_cast<wabt::GlobalImport>(import)) {
        v128 = is_v128(global->global.type);
      }
      if (v128) {
        refuse("import " + import->module_name + "." + import->field_name +
               " has a v128 type, which no host provides");
      }
    }
  }

  void record_originals() {
    for (const wabt::Func* func : module_.funcs) {
      original_sigs_.push_back(func->decl.sig);
    }
    for (const wabt::Global* global : module_.globals) {
      original_globals_.push_back(global->type);
    }
  }

  // A v128 global keeps its index for the low half; the high half is a new
  // global at the end.
  void split_globals() {
    global_high_.assign(module_.globals.size(), wabt::kInvalidIndex);
    const std::size_t count = module_.globals.size();
    for (std::size_t g = 0; g < count; ++g) {
      wabt::Global& global = *module_.globals[g];
      if (!is_v128(global.type)) {
        continue;
      }
      auto* init = global.init_expr.empty()
                       ? nullptr
                       : wabt::dyn_cast<wabt::ConstExpr>(&global.init_expr.front());
      if (init == nullptr || init->const_.type() != Type::V128) {
        refuse("a v128 global is initialised by something other than v128.const");
      }
      const v128 value = init->const_.vec128();
      auto high = std::make_unique<wabt::GlobalModuleField>();
      high->global.type = Type::I64;
      high->global.mutable_ = global.mutable_;
      high->global.init_expr.push_back(
          std::make_unique<wabt::ConstExpr>(wabt::Const::I64(value.u64(1))));
      global.type = Type::I64;
      global.init_expr.clear();
      global.init_expr.push_back(std::make_unique<wabt::ConstExpr>(wabt::Const::I64(value.u64(0))));
      global_high_[g] = static_cast<Index>(module_.globals.size());
      module_.AppendField(std::move(high));
    }
  }

  // Types, functions, and the block and call_indirect declarations inside
  // them, once every body has been read with the original types.
  void split_declarations() {
    for (wabt::TypeEntry* entry : module_.types) {
      if (auto* func_type = wabt::dyn_cast<wabt::FuncType>(entry)) {
        split_signature(func_type->sig);
      }
    }
    for (wabt::Func* func : module_.funcs) {
      split_signature(func->decl.sig);
    }
  }

  // A block type that became several values needs a type index.
  void split_block_declaration(wabt::BlockDeclaration& decl) {
    split_signature(decl.sig);
    if (!decl.has_func_type && (decl.sig.GetNumParams() > 0 || decl.sig.GetNumResults() > 1)) {
      decl.has_func_type = true;
      decl.type_var = wabt::Var(type_index(decl.sig), wabt::Location());
    }
  }

  // The index of a function type with `sig` (already split), added if new.
  Index type_index(const wabt::FuncSignature& sig) {
    Index index = module_.GetFuncTypeIndex(sig);
    if (index != wabt::kInvalidIndex) {
      return index;
    }
    auto field = std::make_unique<wabt::TypeModuleField>();
    auto type = std::make_unique<wabt::FuncType>();
    type->sig = sig;
    field->type = std::move(type);
    index = static_cast<Index>(module_.types.size());
    module_.AppendField(std::move(field));
    return index;
  }

  // The helper function for `operation`: the operands (v128 split) plus any
  // immediates passed as trailing arguments.
  Index helper(std::string_view operation, const std::vector<Type>& params, Type result) {
    std::string name = helper_name(operation);
    auto found = helpers_.find(name);
    if (found != helpers_.end()) {
      return found->second;
    }
    wabt::FuncSignature sig;
    sig.param_types = split(params);
    if (result != Type::Void) {
      sig.result_types = split({result});
    }
    auto field = std::make_unique<wabt::FuncModuleField>(wabt::Location(), "$" + name);
    field->func.decl.has_func_type = true;
    field->func.decl.type_var = wabt::Var(type_index(sig), wabt::Location());
    field->func.decl.sig = sig;
    // The C translation drops this body: the name becomes a macro for the
    // library function (c_simd_library.cc).
    field->func.exprs.push_back(std::make_unique<wabt::UnreachableExpr>());
    const auto index = static_cast<Index>(module_.funcs.size());
    module_.AppendField(std::move(field));
    helpers_.emplace(name, index);
    return index;
  }

  // ---- locals ----

  void map_locals(wabt::Func& func, Locals& locals) {
    for (Index i = 0; i < func.GetNumParamsAndLocals(); ++i) {
      Type type = func.GetLocalType(wabt::Var(i, wabt::Location()));
      locals.original.push_back(type);
      locals.index.push_back(locals.next);
      locals.next += is_v128(type) ? 2U : 1U;
      if (i >= func.GetNumParams()) {
        locals.added.push_back(is_v128(type) ? Type(Type::I64) : type);
        if (is_v128(type)) {
          locals.added.push_back(Type::I64);
        }
      }
    }
  }

  Index scratch(Locals& locals, Type type, int slot) {
    auto [it, added] = locals.scratch.try_emplace({type, slot}, locals.next);
    if (added) {
      locals.added.push_back(type);
      ++locals.next;
    }
    return it->second;
  }

  void call(Exprs& out, Index func) { emit<wabt::CallExpr>(out, var(func)); }
  // A call to the helper for an instruction from the opcode table.
  void call_operation(Exprs& out, Opcode opcode, bool lane_immediate = false) {
    std::vector<Type> params = opcode_params(opcode);
    if (lane_immediate) {
      params.push_back(Type::I32);
    }
    call(out, helper(opcode.GetName(), params, opcode.GetResultType()));
  }

  // ---- bodies ----

  void lower_function(wabt::Func& func) {
    Locals locals;
    map_locals(func, locals);
    stack_.reset();
    func.exprs = lower_list(func.exprs, locals);
    func.local_types.Set(locals.added);
  }

  Exprs lower_list(Exprs& in, Locals& locals) {
    Exprs out;
    while (!in.empty()) {
      std::unique_ptr<wabt::Expr> expr = in.extract_front();
      lower(std::move(expr), out, locals);
    }
    return out;
  }

  // Lowers a nested block body with `params` already on its stack, and
  // leaves `results` on the outer stack.
  void lower_block(wabt::Block& block, Locals& locals) {
    const wabt::FuncSignature sig = block.decl.sig;
    stack_.pop_n(sig.GetNumParams());
    stack_.enter(sig.param_types);
    block.exprs = lower_list(block.exprs, locals);
    stack_.leave(sig.result_types);
    split_block_declaration(block.decl);
  }
  void lower(std::unique_ptr<wabt::Expr> expr, Exprs& out, Locals& locals) {
    switch (expr->type()) {
      case wabt::ExprType::Block:
      case wabt::ExprType::Loop: {
        auto& block = expr->type() == wabt::ExprType::Block
                          ? wabt::cast<wabt::BlockExpr>(expr.get())->block
                          : wabt::cast<wabt::LoopExpr>(expr.get())->block;
        lower_block(block, locals);
        break;
      }
      case wabt::ExprType::If:
        lower_if(*wabt::cast<wabt::IfExpr>(expr.get()), locals);
        break;
      case wabt::ExprType::LocalGet:
      case wabt::ExprType::LocalSet:
      case wabt::ExprType::LocalTee:
        lower_local(*expr, out, locals);
        return;
      case wabt::ExprType::GlobalGet:
      case wabt::ExprType::GlobalSet:
        lower_global(*expr, out);
        return;
      case wabt::ExprType::Drop:
        if (is_v128(stack_.pop())) {
          emit<wabt::DropExpr>(out);
        }
        break;
      case wabt::ExprType::Select:
        if (lower_select(*wabt::cast<wabt::SelectExpr>(expr.get()), out, locals)) {
          return;
        }
        break;
      case wabt::ExprType::Const:
        if (lower_const(*wabt::cast<wabt::ConstExpr>(expr.get()), out)) {
          return;
        }
        break;
      case wabt::ExprType::Call: {
        const auto& callee = wabt::cast<wabt::CallExpr>(expr.get())->var;
        const wabt::FuncSignature& sig = original_sigs_.at(callee.index());
        stack_.pop_n(sig.GetNumParams());
        stack_.push_all(sig.result_types);
        break;
      }
      case wabt::ExprType::CallIndirect: {
        auto& decl = wabt::cast<wabt::CallIndirectExpr>(expr.get())->decl;
        stack_.pop();
        stack_.pop_n(decl.sig.GetNumParams());
        stack_.push_all(decl.sig.result_types);
        split_signature(decl.sig);
        break;
      }
      default:
        if (lower_memory_or_operation(*expr, out, locals)) {
          return;
        }
        apply(*expr);
        break;
    }
    out.push_back(std::move(expr));
  }

  void lower_if(wabt::IfExpr& expr, Locals& locals) {
    const wabt::FuncSignature sig = expr.true_.decl.sig;
    stack_.pop();  // the condition
    stack_.pop_n(sig.GetNumParams());
    stack_.enter(sig.param_types);
    expr.true_.exprs = lower_list(expr.true_.exprs, locals);
    stack_.leave({});
    stack_.enter(sig.param_types);
    expr.false_ = lower_list(expr.false_, locals);
    stack_.leave(sig.result_types);
    split_block_declaration(expr.true_.decl);
  }

  void lower_local(const wabt::Expr& expr, Exprs& out, Locals& locals) {
    Index index = 0;
    if (const auto* get = wabt::dyn_cast<wabt::LocalGetExpr>(&expr)) {
      index = get->var.index();
    } else if (const auto* set = wabt::dyn_cast<wabt::LocalSetExpr>(&expr)) {
      index = set->var.index();
    } else if (const auto* tee = wabt::dyn_cast<wabt::LocalTeeExpr>(&expr)) {
      index = tee->var.index();
    }
    const Type type = locals.original.at(index);
    const Index low = locals.index.at(index);
    const bool wide = is_v128(type);
    switch (expr.type()) {
      case wabt::ExprType::LocalGet:
        local_get(out, low);
        if (wide) {
          local_get(out, low + 1);
        }
        stack_.push(type);
        break;
      case wabt::ExprType::LocalSet:
        stack_.pop();
        if (wide) {
          local_set(out, low + 1);
        }
        local_set(out, low);
        break;
      default:  // tee
        stack_.pop();
        if (wide) {
          local_set(out, low + 1);
        }
        emit<wabt::LocalTeeExpr>(out, var(low));
        if (wide) {
          local_get(out, low + 1);
        }
        stack_.push(type);
        break;
    }
  }

  void lower_global(const wabt::Expr& expr, Exprs& out) {
    const bool get = expr.type() == wabt::ExprType::GlobalGet;
    const Index index = get ? wabt::cast<wabt::GlobalGetExpr>(&expr)->var.index()
                            : wabt::cast<wabt::GlobalSetExpr>(&expr)->var.index();
    const Type type = original_globals_.at(index);
    const Index high = global_high_.at(index);
    if (get) {
      emit<wabt::GlobalGetExpr>(out, var(index));
      if (high != wabt::kInvalidIndex) {
        emit<wabt::GlobalGetExpr>(out, var(high));
      }
      stack_.push(type);
    } else {
      stack_.pop();
      if (high != wabt::kInvalidIndex) {
        emit<wabt::GlobalSetExpr>(out, var(high));
      }
      emit<wabt::GlobalSetExpr>(out, var(index));
    }
  }

  // select over v128 picks each half with the same condition.
  bool lower_select(const wabt::SelectExpr& expr, Exprs& out, Locals& locals) {
    stack_.pop();  // the condition
    const Type second = stack_.pop();
    const Type first = stack_.pop();
    Type type = !expr.result_type.empty() ? expr.result_type.front() : first;
    if (type == Type::Any) {
      type = second;
    }
    stack_.push(type);
    if (!is_v128(type)) {
      return false;
    }
    const Index condition = scratch(locals, Type::I32, 0);
    const Index first_low = scratch(locals, Type::I64, 0);
    const Index first_high = scratch(locals, Type::I64, 1);
    const Index second_low = scratch(locals, Type::I64, 2);
    const Index second_high = scratch(locals, Type::I64, 3);
    for (Index index : {condition, second_high, second_low, first_high}) {
      local_set(out, index);
    }
    local_set(out, first_low);
    for (auto [a, b] : {std::pair{first_low, second_low}, std::pair{first_high, second_high}}) {
      local_get(out, a);
      local_get(out, b);
      local_get(out, condition);
      emit<wabt::SelectExpr>(out, wabt::TypeVector{});
    }
    return true;
  }

  bool lower_const(const wabt::ConstExpr& expr, Exprs& out) {
    stack_.push(expr.const_.type());
    if (expr.const_.type() != Type::V128) {
      return false;
    }
    const v128 value = expr.const_.vec128();
    i64_const(out, value.u64(0));
    i64_const(out, value.u64(1));
    return true;
  }

  // Memory access with v128 and every other SIMD instruction. Returns false
  // for an instruction that stays as it is.
  bool lower_memory_or_operation(const wabt::Expr& expr, Exprs& out, Locals& locals) {
    switch (expr.type()) {
      case wabt::ExprType::Load: {
        const auto& e = *wabt::cast<wabt::LoadExpr>(&expr);
        if (!is_v128(e.opcode.GetResultType())) {
          return false;
        }
        stack_.pop();
        stack_.push(Type::V128);
        if (e.opcode == Opcode::V128Load) {
          const Index address = scratch(locals, Type::I32, 0);
          emit<wabt::LocalTeeExpr>(out, var(address));
          load(out, Opcode::I64Load, e.memidx, e.offset);
          local_get(out, address);
          load(out, Opcode::I64Load, e.memidx, e.offset + 8);
        } else {  // v128.loadNxM_s/u: eight bytes, widened by the helper
          load(out, Opcode::I64Load, e.memidx, e.offset);
          call(out, helper(e.opcode.GetName(), {Type::I64}, Type::V128));
        }
        return true;
      }
      case wabt::ExprType::Store: {
        const auto& e = *wabt::cast<wabt::StoreExpr>(&expr);
        if (e.opcode != Opcode::V128Store) {
          return false;
        }
        stack_.pop_n(2);
        const Index address = scratch(locals, Type::I32, 0);
        const Index low = scratch(locals, Type::I64, 0);
        const Index high = scratch(locals, Type::I64, 1);
        local_set(out, high);
        local_set(out, low);
        local_set(out, address);
        // The high half first: if it is out of bounds, nothing is written.
        for (auto [half, offset] : {std::pair{high, e.offset + 8}, std::pair{low, e.offset}}) {
          local_get(out, address);
          local_get(out, half);
          store(out, Opcode::I64Store, e.memidx, offset);
        }
        return true;
      }
      case wabt::ExprType::LoadSplat: {
        const auto& e = *wabt::cast<wabt::LoadSplatExpr>(&expr);
        stack_.pop();
        stack_.push(Type::V128);
        auto [scalar_load, splat] = splat_parts(e.opcode);
        load(out, scalar_load, e.memidx, e.offset);
        call_operation(out, splat);
        return true;
      }
      case wabt::ExprType::LoadZero: {
        const auto& e = *wabt::cast<wabt::LoadZeroExpr>(&expr);
        stack_.pop();
        stack_.push(Type::V128);
        load(out, e.opcode == Opcode::V128Load32Zero ? Opcode::I64Load32U : Opcode::I64Load,
             e.memidx, e.offset);
        i64_const(out, 0);
        return true;
      }
      case wabt::ExprType::SimdLoadLane:
        lower_load_lane(*wabt::cast<wabt::SimdLoadLaneExpr>(&expr), out, locals);
        return true;
      case wabt::ExprType::SimdStoreLane: {
        const auto& e = *wabt::cast<wabt::SimdStoreLaneExpr>(&expr);
        stack_.pop_n(2);
        const LaneAccess access = lane_access(e.opcode.GetMemorySize());
        i32_const(out, e.val);
        call_operation(out, access.extract_lane, /*lane_immediate=*/true);
        store(out, access.store, e.memidx, e.offset);
        return true;
      }
      case wabt::ExprType::SimdLaneOp: {
        const auto& e = *wabt::cast<wabt::SimdLaneOpExpr>(&expr);
        stack_.pop_n(opcode_params(e.opcode).size());
        stack_.push(e.opcode.GetResultType());
        i32_const(out, e.val);
        call_operation(out, e.opcode, /*lane_immediate=*/true);
        return true;
      }
      case wabt::ExprType::SimdShuffleOp: {
        const auto& e = *wabt::cast<wabt::SimdShuffleOpExpr>(&expr);
        stack_.pop_n(2);
        stack_.push(Type::V128);
        i64_const(out, e.val.u64(0));
        i64_const(out, e.val.u64(1));
        call(out, helper(e.opcode.GetName(), {Type::V128, Type::V128, Type::V128}, Type::V128));
        return true;
      }
      case wabt::ExprType::Binary:
      case wabt::ExprType::Compare:
      case wabt::ExprType::Convert:
      case wabt::ExprType::Unary:
      case wabt::ExprType::Ternary: {
        const Opcode opcode = operation_opcode(expr);
        if (!touches_v128(opcode)) {
          return false;
        }
        stack_.pop_n(opcode_params(opcode).size());
        stack_.push(opcode.GetResultType());
        call_operation(out, opcode);
        return true;
      }
      default:
        return false;
    }
  }

  void apply(const wabt::Expr& expr) {
    try {
      stack_.apply(expr);
    } catch (const std::invalid_argument& e) {
      refuse(std::string(e.what()) + " in a module that uses SIMD");
    }
  }

  // v128.loadN_lane: the scalar is loaded first, then put into its lane.
  void lower_load_lane(const wabt::SimdLoadLaneExpr& e, Exprs& out, Locals& locals) {
    stack_.pop_n(2);
    stack_.push(Type::V128);
    const LaneAccess access = lane_access(e.opcode.GetMemorySize());
    const Index low = scratch(locals, Type::I64, 0);
    const Index high = scratch(locals, Type::I64, 1);
    const Index value = scratch(locals, access.scalar, access.scalar == Type::I64 ? 2 : 1);
    local_set(out, high);
    local_set(out, low);
    load(out, access.load, e.memidx, e.offset);
    local_set(out, value);
    local_get(out, low);
    local_get(out, high);
    local_get(out, value);
    i32_const(out, e.val);
    call_operation(out, access.replace_lane, /*lane_immediate=*/true);
  }

  const std::string& file_;
  wabt::Module& module_;
  std::vector<wabt::FuncSignature> original_sigs_;
  std::vector<Type> original_globals_;
  std::vector<Index> global_high_;
  std::map<std::string, Index> helpers_;
  OperandStack stack_;
};

}  // namespace

void lower_simd(const std::string& file, wabt::Module& module) {
  Lowering(file, module).run();
}

}  // namespace wasmshim::wasm
