#include "baseline_module.h"

#include <wabt/cast.h>

#include <cstring>
#include <string>
#include <vector>

#include "../module_parsed.h"
#include "entry_thunk.h"
#include "function_compiler.h"
#include "x64_assembler.h"

namespace wasmshim::wasm::baseline {
namespace {

class BaselineModule;

// The start of every baseline instance. Tables, globals, the functions'
// reference objects and the segments' dropped flags follow.
//
// A funcref value is the address of its function's reference object in the
// instance, {signature id, code, the object's own address}; null is 0. A
// table entry is a copy of such an object (or all zero), so table.get reads
// the value back from the entry's module_instance field.
struct InstanceHeader {
  abi::Memory memory;
  void* wasi;
  const abi::Runtime* runtime;
  void* const* imports;
  const BaselineModule* module;
};

[[noreturn]] void unsupported(const std::string& what) {
  throw UnsupportedByBaseline("the baseline tier does not compile " + what);
}

// The bits of a constant initializer (global, segment offset).
std::uint64_t constant_of(const wabt::ExprList& init, const char* what) {
  if (init.size() != 1 || init.front().type() != wabt::ExprType::Const) {
    unsupported(std::string(what) + " that is not a constant");
  }
  const wabt::Const& value = wabt::cast<wabt::ConstExpr>(&init.front())->const_;
  switch (value.type()) {
    case wabt::Type::I32:
      return value.u32();
    case wabt::Type::I64:
      return value.u64();
    case wabt::Type::F32:
      return value.f32_bits();
    case wabt::Type::F64:
      return value.f64_bits();
    default:
      unsupported(std::string(what) + " of type " + value.type().GetName());
  }
}

struct GlobalInit {
  std::int32_t offset;
  std::uint64_t bits;
};

struct TableShape {
  std::int32_t offset;
  std::uint32_t initial;
  std::uint32_t max;
};

struct DataSegment {
  bool active = false;
  std::uint32_t offset = 0;
  std::vector<std::uint8_t> bytes;
};

constexpr std::uint32_t kNullFunction = UINT32_MAX;

struct ElemSegment {
  bool active = false;
  bool passive = false;  // else dropped once instantiated
  std::size_t table = 0;
  std::uint32_t offset = 0;
  std::vector<std::uint32_t> functions;  // defined-function index or kNullFunction
};

class BaselineModule final : public CompiledModule {
 public:
  std::string tier() const override { return "baseline"; }
  void bind(const abi::Runtime* runtime, void* const* imports) override {
    runtime_ = runtime;
    imports_ = imports;
  }
  std::size_t instance_size() const override { return instance_size_; }
  void instantiate(void* instance, void* wasi) const override;
  void release(void* instance) const override;
  abi::Memory* memory(void* instance) const override {
    return exports_memory_ ? &header(instance)->memory : nullptr;
  }
  bool has_start() const override { return start_ != nullptr; }
  void start(void* instance) const override { thunk_(instance, nullptr, 0, start_); }

  // The helpers generated code calls (InstanceLayout::Helpers).
  static void memory_fill(void* instance, std::uint32_t dest, std::uint32_t value,
                          std::uint32_t count);
  static void memory_copy(void* instance, std::uint32_t dest, std::uint32_t source,
                          std::uint32_t count);
  static void memory_init(void* instance, std::uint32_t segment, std::uint32_t dest,
                          std::uint32_t source, std::uint32_t count);
  static void data_drop(void* instance, std::uint32_t segment);
  static const abi::FuncRef* table_get(void* instance, std::uint32_t table, std::uint32_t index);
  static void table_set(void* instance, std::uint32_t table, std::uint32_t index,
                        const abi::FuncRef* value);
  static std::uint32_t table_size(void* instance, std::uint32_t table);
  static std::uint32_t table_grow(void* instance, std::uint32_t table, const abi::FuncRef* value,
                                  std::uint32_t delta);
  static void table_fill(void* instance, std::uint32_t table, std::uint32_t index,
                         const abi::FuncRef* value, std::uint32_t count);
  static void table_copy(void* instance, std::uint32_t dest_table, std::uint32_t source_table,
                         std::uint32_t dest, std::uint32_t source, std::uint32_t count);
  static void table_init(void* instance, std::uint32_t table, std::uint32_t segment,
                         std::uint32_t dest, std::uint32_t source, std::uint32_t count);
  static void elem_drop(void* instance, std::uint32_t segment);

 private:
  friend std::unique_ptr<CompiledModule> baseline::compile_module(const Module& module);

  static InstanceHeader* header(void* instance) { return static_cast<InstanceHeader*>(instance); }
  static abi::FuncRefTable* table(void* instance, const TableShape& shape) {
    return reinterpret_cast<abi::FuncRefTable*>(static_cast<char*>(instance) + shape.offset);
  }
  static const BaselineModule& of(void* instance) { return *header(instance)->module; }
  abi::FuncRefTable* table(void* instance, std::uint32_t index) const {
    return table(instance, tables_.at(index));
  }
  abi::FuncRef* function_ref(void* instance, std::uint32_t function) const {
    return reinterpret_cast<abi::FuncRef*>(static_cast<char*>(instance) + function_refs_) +
           function;
  }
  // Dropped segments read as empty.
  bool* dropped(void* instance) const {
    return reinterpret_cast<bool*>(static_cast<char*>(instance) + dropped_);
  }
  [[noreturn]] static void out_of_bounds(void* instance) {
    header(instance)->runtime->trap(abi::kTrapOutOfBounds);
    __builtin_unreachable();
  }
  static abi::FuncRef entry_for(const abi::FuncRef* value) {
    return value == nullptr ? abi::FuncRef{0, nullptr, nullptr} : *value;
  }

  x64::ExecutableCode code_;
  EntryThunk thunk_ = nullptr;
  const void* start_ = nullptr;            // the exported _start
  const void* start_function_ = nullptr;   // the module's start section
  std::vector<const void*> functions_;     // defined functions' code
  std::vector<std::uint32_t> signatures_;  // defined functions' signature ids
  bool has_memory_ = false;
  bool exports_memory_ = false;
  std::uint64_t initial_pages_ = 0;
  std::uint64_t max_pages_ = 0;
  std::vector<GlobalInit> globals_;
  std::vector<TableShape> tables_;
  std::vector<ElemSegment> elements_;
  std::vector<DataSegment> data_;
  std::int32_t function_refs_ = 0;
  std::int32_t dropped_ = 0;  // data segments' flags, then element segments'
  std::size_t instance_size_ = 0;
  const abi::Runtime* runtime_ = nullptr;
  void* const* imports_ = nullptr;
};

// On the guest thread; a trap (a segment out of bounds, memory over its
// limit) leaves through the runtime, so nothing here owns anything.
void BaselineModule::instantiate(void* instance, void* wasi) const {
  InstanceHeader* h = header(instance);
  h->wasi = wasi;
  h->runtime = runtime_;
  h->imports = imports_;
  h->module = this;
  for (std::size_t f = 0; f < functions_.size(); ++f) {
    abi::FuncRef* ref = function_ref(instance, static_cast<std::uint32_t>(f));
    ref->func_type = signatures_[f];
    ref->func = reinterpret_cast<void (*)()>(const_cast<void*>(functions_[f]));
    ref->module_instance = ref;
  }
  if (has_memory_) {
    runtime_->allocate_memory(&h->memory, initial_pages_, max_pages_);
  }
  for (const GlobalInit& global : globals_) {
    std::memcpy(static_cast<char*>(instance) + global.offset, &global.bits, sizeof global.bits);
  }
  for (const TableShape& shape : tables_) {
    runtime_->allocate_funcref_table(table(instance, shape), shape.initial, shape.max);
  }
  for (std::size_t i = 0; i < elements_.size(); ++i) {
    const ElemSegment& segment = elements_[i];
    if (segment.active) {
      table_init(instance, static_cast<std::uint32_t>(segment.table), static_cast<std::uint32_t>(i),
                 segment.offset, 0, static_cast<std::uint32_t>(segment.functions.size()));
    }
    dropped(instance)[data_.size() + i] = !segment.passive;
  }
  for (std::size_t i = 0; i < data_.size(); ++i) {
    const DataSegment& segment = data_[i];
    if (segment.active) {
      memory_init(instance, static_cast<std::uint32_t>(i), segment.offset, 0,
                  static_cast<std::uint32_t>(segment.bytes.size()));
      dropped(instance)[i] = true;
    }
  }
  if (start_function_ != nullptr) {
    thunk_(instance, nullptr, 0, start_function_);
  }
}

void BaselineModule::memory_fill(void* instance, std::uint32_t dest, std::uint32_t value,
                                 std::uint32_t count) {
  abi::Memory& memory = header(instance)->memory;
  if (std::uint64_t{dest} + count > memory.size) {
    out_of_bounds(instance);
  }
  std::memset(memory.data + dest, static_cast<int>(value & 0xff), count);
}

void BaselineModule::memory_copy(void* instance, std::uint32_t dest, std::uint32_t source,
                                 std::uint32_t count) {
  abi::Memory& memory = header(instance)->memory;
  if (std::uint64_t{dest} + count > memory.size || std::uint64_t{source} + count > memory.size) {
    out_of_bounds(instance);
  }
  std::memmove(memory.data + dest, memory.data + source, count);
}

void BaselineModule::memory_init(void* instance, std::uint32_t segment, std::uint32_t dest,
                                 std::uint32_t source, std::uint32_t count) {
  const BaselineModule& module = of(instance);
  const std::vector<std::uint8_t>& bytes = module.data_.at(segment).bytes;
  const std::size_t length = module.dropped(instance)[segment] ? 0 : bytes.size();
  abi::Memory& memory = header(instance)->memory;
  if (std::uint64_t{source} + count > length || std::uint64_t{dest} + count > memory.size) {
    out_of_bounds(instance);
  }
  if (count > 0) {
    std::memcpy(memory.data + dest, bytes.data() + source, count);
  }
}

void BaselineModule::data_drop(void* instance, std::uint32_t segment) {
  of(instance).dropped(instance)[segment] = true;
}

const abi::FuncRef* BaselineModule::table_get(void* instance, std::uint32_t table,
                                              std::uint32_t index) {
  const abi::FuncRefTable* t = of(instance).table(instance, table);
  if (index >= t->size) {
    out_of_bounds(instance);
  }
  return static_cast<const abi::FuncRef*>(t->data[index].module_instance);
}

void BaselineModule::table_set(void* instance, std::uint32_t table, std::uint32_t index,
                               const abi::FuncRef* value) {
  abi::FuncRefTable* t = of(instance).table(instance, table);
  if (index >= t->size) {
    out_of_bounds(instance);
  }
  t->data[index] = entry_for(value);
}

std::uint32_t BaselineModule::table_size(void* instance, std::uint32_t table) {
  return of(instance).table(instance, table)->size;
}

std::uint32_t BaselineModule::table_grow(void* instance, std::uint32_t table,
                                         const abi::FuncRef* value, std::uint32_t delta) {
  return header(instance)->runtime->grow_funcref_table(of(instance).table(instance, table), delta,
                                                       entry_for(value));
}

void BaselineModule::table_fill(void* instance, std::uint32_t table, std::uint32_t index,
                                const abi::FuncRef* value, std::uint32_t count) {
  abi::FuncRefTable* t = of(instance).table(instance, table);
  if (std::uint64_t{index} + count > t->size) {
    out_of_bounds(instance);
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    t->data[index + i] = entry_for(value);
  }
}

void BaselineModule::table_copy(void* instance, std::uint32_t dest_table,
                                std::uint32_t source_table, std::uint32_t dest,
                                std::uint32_t source, std::uint32_t count) {
  abi::FuncRefTable* to = of(instance).table(instance, dest_table);
  const abi::FuncRefTable* from = of(instance).table(instance, source_table);
  if (std::uint64_t{dest} + count > to->size || std::uint64_t{source} + count > from->size) {
    out_of_bounds(instance);
  }
  if (count > 0) {
    std::memmove(to->data + dest, from->data + source, sizeof(abi::FuncRef) * count);
  }
}

void BaselineModule::table_init(void* instance, std::uint32_t table, std::uint32_t segment,
                                std::uint32_t dest, std::uint32_t source, std::uint32_t count) {
  const BaselineModule& module = of(instance);
  const std::vector<std::uint32_t>& functions = module.elements_.at(segment).functions;
  const std::size_t length =
      module.dropped(instance)[module.data_.size() + segment] ? 0 : functions.size();
  abi::FuncRefTable* t = module.table(instance, table);
  if (std::uint64_t{source} + count > length || std::uint64_t{dest} + count > t->size) {
    out_of_bounds(instance);
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t function = functions[source + i];
    t->data[dest + i] = function == kNullFunction ? abi::FuncRef{0, nullptr, nullptr}
                                                  : *module.function_ref(instance, function);
  }
}

void BaselineModule::elem_drop(void* instance, std::uint32_t segment) {
  const BaselineModule& module = of(instance);
  module.dropped(instance)[module.data_.size() + segment] = true;
}

void BaselineModule::release(void* instance) const {
  if (runtime_ == nullptr) {
    return;
  }
  runtime_->free_memory(&header(instance)->memory);
  for (const TableShape& shape : tables_) {
    runtime_->free_funcref_table(table(instance, shape));
  }
}

// The instance's layout: the header, tables, then globals.
InstanceLayout lay_out(const wabt::Module& ir, std::vector<TableShape>& tables,
                       std::size_t& instance_size) {
  InstanceLayout layout;
  layout.memory = offsetof(InstanceHeader, memory);
  layout.memory_pages = offsetof(InstanceHeader, memory) + offsetof(abi::Memory, pages);
  layout.runtime = offsetof(InstanceHeader, runtime);
  layout.wasi = offsetof(InstanceHeader, wasi);
  layout.imports = offsetof(InstanceHeader, imports);
  auto next = static_cast<std::int32_t>(sizeof(InstanceHeader));
  for (const wabt::Table* t : ir.tables) {
    if (t->elem_type != wabt::Type::FuncRef) {
      unsupported("tables of references other than funcref");
    }
    tables.push_back(
        {next, static_cast<std::uint32_t>(t->elem_limits.initial),
         t->elem_limits.has_max ? static_cast<std::uint32_t>(t->elem_limits.max) : UINT32_MAX});
    layout.tables.push_back(next);
    next += static_cast<std::int32_t>(sizeof(abi::FuncRefTable));
  }
  for (std::size_t i = 0; i < ir.globals.size(); ++i) {
    layout.globals.push_back(next);
    next += 8;
  }
  layout.signature_ids = signature_ids(ir);
  instance_size = static_cast<std::size_t>(next);
  return layout;
}

void check_shape(const wabt::Module& ir) {
  if (ir.num_memory_imports > 0 || ir.num_table_imports > 0 || ir.num_global_imports > 0) {
    unsupported("a module importing memories, tables or globals");
  }
  if (ir.memories.size() > 1) {
    unsupported("a module with more than one memory");
  }
}

}  // namespace

std::unique_ptr<CompiledModule> compile_module(const Module& module) {
  const wabt::Module& ir = module.parsed().ir;
  if (module.uses_simd()) {
    unsupported("SIMD (v128) instructions");
  }
  check_shape(ir);
  auto compiled = std::make_unique<BaselineModule>();
  InstanceLayout layout = lay_out(ir, compiled->tables_, compiled->instance_size_);
  const std::size_t defined_functions = ir.funcs.size() - ir.num_func_imports;
  std::size_t next = compiled->instance_size_;
  compiled->function_refs_ = static_cast<std::int32_t>(next);
  layout.function_refs = compiled->function_refs_;
  next += sizeof(abi::FuncRef) * defined_functions;
  compiled->dropped_ = static_cast<std::int32_t>(next);
  next += ir.data_segments.size() + ir.elem_segments.size();
  compiled->instance_size_ = (next + 7) / 8 * 8;
  if (compiled->instance_size_ > INT32_MAX) {
    unsupported("a module whose instance needs more than 2 GiB");
  }
  layout.helpers = {reinterpret_cast<const void*>(&BaselineModule::memory_fill),
                    reinterpret_cast<const void*>(&BaselineModule::memory_copy),
                    reinterpret_cast<const void*>(&BaselineModule::memory_init),
                    reinterpret_cast<const void*>(&BaselineModule::data_drop),
                    reinterpret_cast<const void*>(&BaselineModule::table_get),
                    reinterpret_cast<const void*>(&BaselineModule::table_set),
                    reinterpret_cast<const void*>(&BaselineModule::table_size),
                    reinterpret_cast<const void*>(&BaselineModule::table_grow),
                    reinterpret_cast<const void*>(&BaselineModule::table_fill),
                    reinterpret_cast<const void*>(&BaselineModule::table_copy),
                    reinterpret_cast<const void*>(&BaselineModule::table_init),
                    reinterpret_cast<const void*>(&BaselineModule::elem_drop)};

  x64::Assembler as;
  ModuleLabels labels;
  for (x64::Label* trap :
       {&labels.trap_unreachable, &labels.trap_divide_by_zero, &labels.trap_integer_overflow,
        &labels.trap_invalid_conversion, &labels.trap_indirect_call, &labels.trap_out_of_bounds}) {
    *trap = as.new_label();
  }
  const wabt::Index imported = ir.num_func_imports;
  for (std::size_t i = imported; i < ir.funcs.size(); ++i) {
    labels.functions.push_back(as.new_label());
  }
  for (std::size_t i = imported; i < ir.funcs.size(); ++i) {
    compile_function(as, ir, *ir.funcs[i], layout, labels, labels.functions[i - imported]);
  }
  emit_trap_stubs(as, layout, labels);
  const x64::Label thunk = as.new_label();
  emit_entry_thunk(as, thunk);
  as.finish();
  compiled->code_ = x64::ExecutableCode::copy_of(as.bytes());
  compiled->thunk_ =
      compiled->code_.function<void(void*, std::uint64_t*, std::size_t, const void*)>(
          as.offset_of(thunk));
  for (std::size_t i = imported; i < ir.funcs.size(); ++i) {
    compiled->functions_.push_back(compiled->code_.data() +
                                   as.offset_of(labels.functions[i - imported]));
    compiled->signatures_.push_back(
        layout.signature_ids.at(ir.GetFuncTypeIndex(ir.funcs[i]->decl)));
  }
  const auto defined = [&](wabt::Index function) -> const void* {
    return function < imported ? nullptr : compiled->functions_.at(function - imported);
  };

  if (!ir.memories.empty()) {
    const wabt::Limits& limits = ir.memories[0]->page_limits;
    compiled->has_memory_ = true;
    compiled->initial_pages_ = limits.initial;
    compiled->max_pages_ = limits.has_max ? limits.max : 65536;
  }
  for (std::size_t i = 0; i < ir.globals.size(); ++i) {
    compiled->globals_.push_back(
        {layout.globals[i], constant_of(ir.globals[i]->init_expr, "a global initializer")});
  }
  for (const wabt::ElemSegment* segment : ir.elem_segments) {
    ElemSegment elements;
    elements.active = segment->kind == wabt::SegmentKind::Active;
    elements.passive = segment->kind == wabt::SegmentKind::Passive;
    if (elements.active) {
      elements.table = ir.GetTableIndex(segment->table_var);
      elements.offset =
          static_cast<std::uint32_t>(constant_of(segment->offset, "an element offset"));
    }
    for (const wabt::ExprList& element : segment->elem_exprs) {
      if (element.size() == 1 && element.front().type() == wabt::ExprType::RefFunc) {
        const wabt::Index function =
            ir.GetFuncIndex(wabt::cast<wabt::RefFuncExpr>(&element.front())->var);
        if (function < imported) {
          unsupported("an imported function in a table");
        }
        elements.functions.push_back(static_cast<std::uint32_t>(function - imported));
      } else if (element.size() == 1 && element.front().type() == wabt::ExprType::RefNull) {
        elements.functions.push_back(kNullFunction);
      } else {
        unsupported("an element that is not ref.func or ref.null");
      }
    }
    compiled->elements_.push_back(std::move(elements));
  }
  for (const wabt::DataSegment* segment : ir.data_segments) {
    DataSegment data;
    data.active = segment->kind == wabt::SegmentKind::Active;
    if (data.active) {
      data.offset = static_cast<std::uint32_t>(constant_of(segment->offset, "a data offset"));
    }
    data.bytes = segment->data;
    compiled->data_.push_back(std::move(data));
  }
  for (const wabt::Export* e : ir.exports) {
    if (e->kind == wabt::ExternalKind::Memory) {
      compiled->exports_memory_ = true;
    } else if (e->kind == wabt::ExternalKind::Func && e->name == "_start") {
      const wabt::Index function = ir.GetFuncIndex(e->var);
      const wabt::Func* func = ir.funcs.at(function);
      if (func->GetNumParams() == 0 && func->GetNumResults() == 0) {
        compiled->start_ = defined(function);
      }
    }
  }
  if (!ir.starts.empty()) {
    compiled->start_function_ = defined(ir.GetFuncIndex(*ir.starts.front()));
    if (compiled->start_function_ == nullptr) {
      unsupported("a start function that is an import");
    }
  }
  return compiled;
}

}  // namespace wasmshim::wasm::baseline
