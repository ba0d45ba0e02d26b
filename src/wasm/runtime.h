// Private: the host half of the runtime translated modules call into, and the
// guarded execution that turns traps, faults and proc_exit into outcomes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime_abi.h"

namespace wasmshim::wasm {

// The table every translated module is bound to.
const abi::Runtime& host_runtime();

// Upper bound on any linear memory's size in 64 KiB pages, for the whole
// process (the container layer sets it from the cgroup memory limit).
void set_memory_page_limit(std::uint64_t pages);

struct GuestOutcome {
  enum class Kind { kReturned, kExited, kTrapped };
  Kind kind = Kind::kReturned;
  int exit_code = 0;                // kExited
  abi::Trap trap = abi::kTrapNone;  // kTrapped
};

// Whether this process may set its GS base (arch_prctl), which code from the
// aot tier needs; a seccomp profile may forbid it.
bool segment_base_available();

// "out of bounds memory access", ...
std::string trap_message(abi::Trap trap);

// Runs body(arg) on a fresh thread with a stack of stack_bytes below which a
// guard region lies, catching traps (from generated code or memory faults),
// stack exhaustion and guest_exit(). body must not leave C++ objects with
// destructors on the stack across a call into guest code.
GuestOutcome run_guarded(void (*body)(void*), void* arg, std::size_t stack_bytes);

// Ends the running guest at once with an exit code (WASI proc_exit).
[[noreturn]] void guest_exit(int code);

}  // namespace wasmshim::wasm
