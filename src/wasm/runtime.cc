#include "runtime.h"

#include <asm/prctl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace wasmshim::wasm {
namespace {

constexpr std::uint64_t kPageSize = 65536;
constexpr std::uint64_t kMaxPages32 = 65536;
// A 32-bit address plus a 32-bit offset stays below 8 GiB: reserving that
// much (plus a little) means no access can land outside the reservation.
constexpr std::uint64_t kReservation = (std::uint64_t{8} << 30) + kPageSize;
constexpr std::size_t kStackGuard = std::size_t{2} << 20;
constexpr std::size_t kAltStackSize = std::size_t{64} << 10;

std::atomic<std::uint64_t> g_page_limit{kMaxPages32};

// Reservations of live linear memories, read by the fault handler: a fixed
// array of atomics because a signal handler may take no lock.
constexpr std::size_t kMaxMemories = 256;
struct Reservation {
  std::atomic<std::uintptr_t> base{0};
  std::atomic<std::uintptr_t> length{0};
};
std::array<Reservation, kMaxMemories> g_reservations;

void add_reservation(std::uintptr_t base, std::uintptr_t length) {
  for (Reservation& r : g_reservations) {
    std::uintptr_t expected = 0;
    if (r.base.compare_exchange_strong(expected, base)) {
      r.length.store(length);
      return;
    }
  }
  throw std::runtime_error("too many live WebAssembly memories in one process");
}

void remove_reservation(std::uintptr_t base) {
  for (Reservation& r : g_reservations) {
    if (r.base.load() == base) {
      r.length.store(0);
      r.base.store(0);
      return;
    }
  }
}

bool in_reservation(std::uintptr_t address) {
  for (const Reservation& r : g_reservations) {
    std::uintptr_t base = r.base.load(std::memory_order_relaxed);
    if (base != 0 && address >= base && address - base < r.length.load(std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

// The guarded run on this thread, if any.
struct Frame {
  sigjmp_buf env;
  std::uintptr_t guard_low = 0;
  std::uintptr_t guard_high = 0;
  int exit_code = 0;
};
thread_local Frame* t_frame = nullptr;

constexpr int kJumpExit = 1000;

[[noreturn]] void jump(int value) {
  Frame* frame = t_frame;
  if (frame == nullptr) {
    std::abort();  // a runtime call outside any guarded run is a host bug
  }
  siglongjmp(frame->env, value);
}

void on_fault(int sig, siginfo_t* info, void* /*context*/) {
  auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
  Frame* frame = t_frame;
  if (frame != nullptr) {
    if (address >= frame->guard_low && address < frame->guard_high) {
      siglongjmp(frame->env, abi::kTrapStackExhausted);
    }
    if (in_reservation(address)) {
      siglongjmp(frame->env, abi::kTrapOutOfBounds);
    }
  }
  // Not a guest fault: let the default action (a core dump) happen.
  ::signal(sig, SIG_DFL);
}

void install_fault_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGSEGV, &action, nullptr);
    ::sigaction(SIGBUS, &action, nullptr);
  });
}

// --- the abi::Runtime functions ---

void rt_trap(abi::Trap trap) {
  jump(trap == abi::kTrapNone ? abi::kTrapUnreachable : trap);
}

std::mutex g_types_mu;
std::map<std::vector<int>, std::uint32_t>& func_types() {
  static std::map<std::vector<int>, std::uint32_t> types;
  return types;
}

std::uint32_t rt_register_func_type(std::uint32_t params, std::uint32_t results,
                                    const abi::ValueTypeCode* types) {
  std::vector<int> key{static_cast<int>(params), static_cast<int>(results)};
  key.insert(key.end(), types, types + params + results);
  std::lock_guard lock(g_types_mu);
  auto& known = func_types();
  auto [it, inserted] = known.emplace(std::move(key), static_cast<std::uint32_t>(known.size() + 1));
  return it->second;
}

void rt_allocate_memory(abi::Memory* memory, std::uint64_t initial_pages, std::uint64_t max_pages) {
  std::uint64_t limit = g_page_limit.load();
  if (max_pages > limit) {
    max_pages = limit;
  }
  if (initial_pages > max_pages) {
    rt_trap(abi::kTrapMemoryLimit);  // the module needs more memory than it may have
  }
  void* base =
      ::mmap(nullptr, kReservation, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    rt_trap(abi::kTrapOutOfBounds);
  }
  std::uint64_t bytes = initial_pages * kPageSize;
  if (bytes > 0 && ::mprotect(base, bytes, PROT_READ | PROT_WRITE) != 0) {
    ::munmap(base, kReservation);
    rt_trap(abi::kTrapOutOfBounds);
  }
  add_reservation(reinterpret_cast<std::uintptr_t>(base), kReservation);
  // Code from the aot tier addresses linear memory relative to GS (see the
  // prelude). Memory is allocated on the guest thread, at instantiation,
  // and never moves, so setting the base once here is enough.
  ::syscall(SYS_arch_prctl, ARCH_SET_GS, reinterpret_cast<std::uintptr_t>(base));
  memory->data = static_cast<std::uint8_t*>(base);
  memory->pages = initial_pages;
  memory->max_pages = max_pages;
  memory->size = bytes;
}

std::uint32_t rt_grow_memory(abi::Memory* memory, std::uint64_t delta) {
  std::uint64_t old_pages = memory->pages;
  if (delta == 0) {
    return static_cast<std::uint32_t>(old_pages);
  }
  std::uint64_t new_pages = old_pages + delta;
  if (new_pages < old_pages || new_pages > memory->max_pages) {
    return UINT32_MAX;
  }
  if (::mprotect(memory->data + memory->size, delta * kPageSize, PROT_READ | PROT_WRITE) != 0) {
    return UINT32_MAX;
  }
  memory->pages = new_pages;
  memory->size = new_pages * kPageSize;
  return static_cast<std::uint32_t>(old_pages);
}

void rt_free_memory(abi::Memory* memory) {
  if (memory->data != nullptr) {
    remove_reservation(reinterpret_cast<std::uintptr_t>(memory->data));
    ::munmap(memory->data, kReservation);
    memory->data = nullptr;
  }
}

template <class Table, class Element>
void allocate_table(Table* table, std::uint32_t elements, std::uint32_t max) {
  table->data = static_cast<Element*>(std::calloc(elements == 0 ? 1 : elements, sizeof(Element)));
  if (table->data == nullptr) {
    rt_trap(abi::kTrapOutOfBounds);
  }
  table->size = elements;
  table->max_size = max;
}

template <class Table, class Element>
std::uint32_t grow_table(Table* table, std::uint32_t delta, Element init) {
  std::uint32_t old_size = table->size;
  std::uint64_t new_size = std::uint64_t{old_size} + delta;
  if (new_size > table->max_size) {
    return UINT32_MAX;
  }
  if (delta == 0) {
    return old_size;
  }
  auto* data = static_cast<Element*>(std::realloc(table->data, new_size * sizeof(Element)));
  if (data == nullptr) {
    return UINT32_MAX;
  }
  for (std::uint64_t i = old_size; i < new_size; ++i) {
    data[i] = init;
  }
  table->data = data;
  table->size = static_cast<std::uint32_t>(new_size);
  return old_size;
}

void rt_allocate_funcref_table(abi::FuncRefTable* t, std::uint32_t n, std::uint32_t max) {
  allocate_table<abi::FuncRefTable, abi::FuncRef>(t, n, max);
}
void rt_free_funcref_table(abi::FuncRefTable* t) {
  std::free(t->data);
  t->data = nullptr;
}
std::uint32_t rt_grow_funcref_table(abi::FuncRefTable* t, std::uint32_t delta, abi::FuncRef init) {
  return grow_table(t, delta, init);
}
void rt_allocate_externref_table(abi::ExternRefTable* t, std::uint32_t n, std::uint32_t max) {
  allocate_table<abi::ExternRefTable, void*>(t, n, max);
}
void rt_free_externref_table(abi::ExternRefTable* t) {
  std::free(t->data);
  t->data = nullptr;
}
std::uint32_t rt_grow_externref_table(abi::ExternRefTable* t, std::uint32_t delta, void* init) {
  return grow_table(t, delta, init);
}

const abi::Runtime kRuntime = {
    rt_trap,
    rt_register_func_type,
    rt_allocate_memory,
    rt_grow_memory,
    rt_free_memory,
    rt_allocate_funcref_table,
    rt_free_funcref_table,
    rt_grow_funcref_table,
    rt_allocate_externref_table,
    rt_free_externref_table,
    rt_grow_externref_table,
};

// --- guarded execution ---

struct GuardedRun {
  void (*body)(void*);
  void* arg;
  std::uintptr_t guard_low;
  std::uintptr_t guard_high;
  GuestOutcome outcome;
};

// Only trivially destructible locals here: siglongjmp lands in this frame.
void* guarded_thread(void* raw) {
  auto* run = static_cast<GuardedRun*>(raw);
  void* alt_stack = std::malloc(kAltStackSize);
  stack_t alt{};
  alt.ss_sp = alt_stack;
  alt.ss_size = kAltStackSize;
  ::sigaltstack(&alt, nullptr);
  Frame frame;
  frame.guard_low = run->guard_low;
  frame.guard_high = run->guard_high;
  t_frame = &frame;
  int jumped = sigsetjmp(frame.env, 1);
  if (jumped == 0) {
    run->body(run->arg);
    run->outcome.kind = GuestOutcome::Kind::kReturned;
  } else if (jumped == kJumpExit) {
    run->outcome.kind = GuestOutcome::Kind::kExited;
    run->outcome.exit_code = frame.exit_code;
  } else {
    run->outcome.kind = GuestOutcome::Kind::kTrapped;
    run->outcome.trap = static_cast<abi::Trap>(jumped);
  }
  t_frame = nullptr;
  alt.ss_flags = SS_DISABLE;
  ::sigaltstack(&alt, nullptr);
  std::free(alt_stack);
  return nullptr;
}

}  // namespace

const abi::Runtime& host_runtime() {
  return kRuntime;
}

bool segment_base_available() {
  static const bool available = [] {
    unsigned long base = 0;
    return ::syscall(SYS_arch_prctl, ARCH_GET_GS, &base) == 0 &&
           ::syscall(SYS_arch_prctl, ARCH_SET_GS, base) == 0;
  }();
  return available;
}

void set_memory_page_limit(std::uint64_t pages) {
  g_page_limit.store(pages < kMaxPages32 ? pages : kMaxPages32);
}

std::string trap_message(abi::Trap trap) {
  switch (trap) {
    case abi::kTrapOutOfBounds:
      return "out of bounds memory or table access";
    case abi::kTrapIntegerOverflow:
      return "integer overflow";
    case abi::kTrapDivideByZero:
      return "integer divide by zero";
    case abi::kTrapInvalidConversion:
      return "invalid conversion to integer";
    case abi::kTrapUnreachable:
      return "unreachable instruction executed";
    case abi::kTrapIndirectCall:
      return "indirect call to a null or mismatched function";
    case abi::kTrapUncaughtException:
      return "uncaught exception";
    case abi::kTrapStackExhausted:
      return "call stack exhausted";
    case abi::kTrapMemoryLimit:
      return "the module's initial linear memory is larger than its memory limit (the "
             "container's memory limit, or the engine's cap)";
    default:
      return "trap " + std::to_string(static_cast<int>(trap));
  }
}

[[noreturn]] void guest_exit(int code) {
  Frame* frame = t_frame;
  if (frame == nullptr) {
    std::abort();
  }
  frame->exit_code = code;
  siglongjmp(frame->env, kJumpExit);
}

GuestOutcome run_guarded(void (*body)(void*), void* arg, std::size_t stack_bytes) {
  install_fault_handlers();
  long page = ::sysconf(_SC_PAGESIZE);
  stack_bytes =
      (stack_bytes + static_cast<std::size_t>(page) - 1) & ~(static_cast<std::size_t>(page) - 1);
  std::size_t total = stack_bytes + kStackGuard;
  void* region = ::mmap(nullptr, total, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (region == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(), "mmap guest stack");
  }
  ::mprotect(region, kStackGuard, PROT_NONE);  // the stack grows down into this
  GuardedRun run{body,
                 arg,
                 reinterpret_cast<std::uintptr_t>(region),
                 reinterpret_cast<std::uintptr_t>(region) + kStackGuard,
                 {}};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, static_cast<char*>(region) + kStackGuard, stack_bytes);
  pthread_t thread;
  int rc = pthread_create(&thread, &attr, guarded_thread, &run);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    ::munmap(region, total);
    throw std::system_error(rc, std::generic_category(), "pthread_create for the guest");
  }
  pthread_join(thread, nullptr);
  ::munmap(region, total);
  return run.outcome;
}

}  // namespace wasmshim::wasm
