#include "kept_loads.h"

#include <wabt/cast.h>
#include <wabt/ir.h>

#include <map>
#include <memory>

namespace wasmshim::wasm {
namespace {

class DroppedLoads {
 public:
  explicit DroppedLoads(wabt::Module& module) : module_(module) {}

  void run() {
    for (wabt::Func* func : module_.funcs) {
      visit(func->exprs);
    }
  }

 private:
  void visit(wabt::ExprList& exprs) {
    wabt::Type previous_load = wabt::Type::Void;
    for (auto it = exprs.begin(); it != exprs.end(); ++it) {
      wabt::Expr& expr = *it;
      if (expr.type() == wabt::ExprType::Drop && previous_load != wabt::Type::Void) {
        const wabt::Location loc = expr.loc;
        auto sink =
            std::make_unique<wabt::GlobalSetExpr>(wabt::Var(sink_global(previous_load), loc), loc);
        it = exprs.insert(exprs.erase(it), std::move(sink));  // `expr` is gone
        previous_load = wabt::Type::Void;
        continue;
      }
      previous_load = wabt::Type::Void;
      if (auto* load = wabt::dyn_cast<wabt::LoadExpr>(&expr)) {
        previous_load = load->opcode.GetResultType();
      } else if (wabt::isa<wabt::LoadSplatExpr>(&expr) || wabt::isa<wabt::LoadZeroExpr>(&expr) ||
                 wabt::isa<wabt::SimdLoadLaneExpr>(&expr)) {
        previous_load = wabt::Type::V128;
      } else if (auto* block = wabt::dyn_cast<wabt::BlockExpr>(&expr)) {
        visit(block->block.exprs);
      } else if (auto* loop = wabt::dyn_cast<wabt::LoopExpr>(&expr)) {
        visit(loop->block.exprs);
      } else if (auto* branch = wabt::dyn_cast<wabt::IfExpr>(&expr)) {
        visit(branch->true_.exprs);
        visit(branch->false_);
      }
    }
  }

  // One mutable global per value type, added on first use.
  wabt::Index sink_global(wabt::Type type) {
    auto [it, added] = sinks_.try_emplace(type, 0);
    if (added) {
      auto field = std::make_unique<wabt::GlobalModuleField>();
      field->global.type = type;
      field->global.mutable_ = true;
      wabt::Const zero;
      switch (type) {
        case wabt::Type::I64:
          zero = wabt::Const::I64(0);
          break;
        case wabt::Type::F32:
          zero = wabt::Const::F32(0);
          break;
        case wabt::Type::F64:
          zero = wabt::Const::F64(0);
          break;
        case wabt::Type::V128:
          zero = wabt::Const::V128(v128{});
          break;
        default:
          zero = wabt::Const::I32(0);
          break;
      }
      field->global.init_expr.push_back(std::make_unique<wabt::ConstExpr>(zero));
      it->second = static_cast<wabt::Index>(module_.globals.size());
      module_.AppendField(std::move(field));
    }
    return it->second;
  }

  wabt::Module& module_;
  std::map<wabt::Type::Enum, wabt::Index> sinks_;
};

}  // namespace

void keep_dropped_loads(wabt::Module& module) {
  DroppedLoads(module).run();
}

}  // namespace wasmshim::wasm
