// Private: the baseline tier's compiler of one function body, in one pass
// from wabt's validated IR straight to x86-64 (no C, no other compiler).
//
// Code conventions (every function of a module follows them):
//   - r14 holds the instance; rbp the frame; linear memory is addressed
//     relative to GS (the runtime sets the base when it allocates memory).
//   - Arguments and results travel in memory: a caller sets rsp to an area
//     of max(params, results) 8-byte slots whose highest address holds
//     argument 0; the callee reads argument k and writes result k at
//     [rbp + 16 + 8 * (area - 1 - k)]. A caller's operand-stack slots are
//     laid out the same way, so the arguments it pushed are already there
//     and the results land where its stack continues: a call copies nothing.
//   - Locals beyond the parameters, then operand-stack slots, lie below rbp.
//     Values on the operand stack live in registers between control-flow
//     boundaries; at each boundary (a label, a branch, a call) all of them
//     are stored to their slots, so every path agrees on where they are.
#pragma once

#include <wabt/ir.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "x64_assembler.h"

namespace wasmshim::wasm::baseline {

// An instruction (or module shape) the baseline tier does not compile yet;
// the message names it. The engine falls back to another tier.
class UnsupportedByBaseline : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where the instance keeps what generated code reads, as offsets from r14.
struct InstanceLayout {
  std::int32_t memory = 0;            // abi::Memory
  std::int32_t memory_pages = 0;      // abi::Memory::pages
  std::int32_t runtime = 0;           // const abi::Runtime*
  std::int32_t wasi = 0;              // the context every WASI import takes first
  std::int32_t imports = 0;           // void* const*: host functions by import slot
  std::vector<std::int32_t> globals;  // each global's 8 bytes
  std::vector<std::int32_t> tables;   // abi::FuncRefTable
  // By type index: what a function of that type carries in its table
  // entries' func_type. Equal signatures share one.
  std::vector<std::uint32_t> signature_ids;
  // Each defined function's reference object (abi::FuncRef, 24 bytes): a
  // funcref value is its address, null is 0.
  std::int32_t function_refs = 0;
  // Host functions for instructions compiled as calls (SysV; the instance
  // first, then the instruction's immediates, then its operands).
  struct Helpers {
    const void* memory_fill = nullptr;  // (instance, dest, value, count)
    const void* memory_copy = nullptr;  // (instance, dest, source, count)
    const void* memory_init = nullptr;  // (instance, segment, dest, source, count)
    const void* data_drop = nullptr;    // (instance, segment)
    const void* table_get = nullptr;    // (instance, table, index) -> ref
    const void* table_set = nullptr;    // (instance, table, index, ref)
    const void* table_size = nullptr;   // (instance, table) -> i32
    const void* table_grow = nullptr;   // (instance, table, ref, delta) -> i32
    const void* table_fill = nullptr;   // (instance, table, index, ref, count)
    const void* table_copy = nullptr;   // (instance, dest table, source table, d, s, n)
    const void* table_init = nullptr;   // (instance, table, segment, d, s, n)
    const void* elem_drop = nullptr;    // (instance, segment)
  } helpers;
};

// Labels of the module's defined functions (by function index minus the
// number of imported ones) and of the shared trap stubs.
struct ModuleLabels {
  std::vector<x64::Label> functions;
  x64::Label trap_unreachable;
  x64::Label trap_divide_by_zero;
  x64::Label trap_integer_overflow;
  x64::Label trap_invalid_conversion;
  x64::Label trap_indirect_call;
  x64::Label trap_out_of_bounds;
};

// Compiles `func` (a defined function of `module`) at `entry`. Throws
// UnsupportedByBaseline for what the tier does not compile.
void compile_function(x64::Assembler& assembler, const wabt::Module& module, const wabt::Func& func,
                      const InstanceLayout& layout, const ModuleLabels& labels, x64::Label entry);

// The trap stubs ModuleLabels names: each calls the runtime's trap function
// (which does not return) with its trap code.
void emit_trap_stubs(x64::Assembler& assembler, const InstanceLayout& layout,
                     const ModuleLabels& labels);

// InstanceLayout::signature_ids for the module's types: equal signatures
// get one id, from 1 up (0 is a null table entry's).
std::vector<std::uint32_t> signature_ids(const wabt::Module& module);

// The argument area a function of this signature uses, in 8-byte slots.
std::size_t argument_slots(const wabt::FuncSignature& signature);

}  // namespace wasmshim::wasm::baseline
