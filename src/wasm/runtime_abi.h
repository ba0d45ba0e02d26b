// Private: the contract between the host and translated modules. The C side
// of it is written in c_prelude.cc; layouts here must match it field by field.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wasmshim::wasm::abi {

extern "C" {

enum Trap : int {
  kTrapNone = 0,
  kTrapOutOfBounds = 1,
  kTrapIntegerOverflow = 2,
  kTrapDivideByZero = 3,
  kTrapInvalidConversion = 4,
  kTrapUnreachable = 5,
  kTrapIndirectCall = 6,
  kTrapUncaughtException = 7,
  kTrapStackExhausted = 8,
  // Raised by the host only (never by translated code).
  kTrapMemoryLimit = 9,
};

using ValueTypeCode = int;  // wasm_rt_type_t

struct Memory {
  std::uint8_t* data;
  std::uint64_t pages;
  std::uint64_t max_pages;
  std::uint64_t size;
};

struct FuncRef {
  std::uint32_t func_type;
  void (*func)();
  void* module_instance;
};

struct FuncRefTable {
  FuncRef* data;
  std::uint32_t max_size;
  std::uint32_t size;
};

struct ExternRefTable {
  void** data;
  std::uint32_t max_size;
  std::uint32_t size;
};

struct Runtime {
  void (*trap)(Trap);
  std::uint32_t (*register_func_type)(std::uint32_t params, std::uint32_t results,
                                      const ValueTypeCode* types);
  void (*allocate_memory)(Memory*, std::uint64_t initial_pages, std::uint64_t max_pages);
  std::uint32_t (*grow_memory)(Memory*, std::uint64_t delta);
  void (*free_memory)(Memory*);
  void (*allocate_funcref_table)(FuncRefTable*, std::uint32_t elements, std::uint32_t max);
  void (*free_funcref_table)(FuncRefTable*);
  std::uint32_t (*grow_funcref_table)(FuncRefTable*, std::uint32_t delta, FuncRef init);
  void (*allocate_externref_table)(ExternRefTable*, std::uint32_t elements, std::uint32_t max);
  void (*free_externref_table)(ExternRefTable*);
  std::uint32_t (*grow_externref_table)(ExternRefTable*, std::uint32_t delta, void* init);
};

// The glue every translated module exports (see c_translation.cc).
using BindFn = void (*)(const Runtime* runtime, void* const* imports);
using InstanceSizeFn = std::size_t (*)();
using InstantiateFn = void (*)(void* instance, void* wasi);
using FreeFn = void (*)(void* instance);
using MemoryFn = Memory* (*)(void* instance);
using StartFn = void (*)(void* instance);

}  // extern "C"

inline constexpr const char* kBindSymbol = "wasmshim_bind";
inline constexpr const char* kInstanceSizeSymbol = "wasmshim_instance_size";
inline constexpr const char* kInstantiateSymbol = "wasmshim_instantiate";
inline constexpr const char* kFreeSymbol = "wasmshim_free";
inline constexpr const char* kMemorySymbol = "wasmshim_memory";
inline constexpr const char* kStartSymbol = "wasmshim_start";
// "module\tname\tparams:results\n" per function import, in slot order, with
// i/I/f/F for i32/i64/f32/f64: lets a cached object be bound without
// reading the module again.
inline constexpr const char* kImportListSymbol = "wasmshim_import_list";

}  // namespace wasmshim::wasm::abi
