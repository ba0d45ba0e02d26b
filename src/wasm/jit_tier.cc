// Tier 0: translated C compiled in memory with libtcc — no compiler process,
// no files, about a second for a large module.
#include <libtcc.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "compiled_module.h"

namespace wasmshim::wasm {
namespace {

// libtcc keeps global state: one compilation (or deletion) at a time per
// process. Recursive: a failed compile deletes its state under the lock.
std::recursive_mutex g_tcc_mu;

// What the translated C calls outside itself. tcc links nothing (-nostdlib),
// so every such symbol is handed over here; a missing one fails at relocation
// with its name.
struct HostSymbol {
  const char* name;
  const void* address;
};

// tcc's x86-64 code calls these for unsigned 64-bit <-> floating conversions.
extern "C" double wasmshim_floatundidf(unsigned long long v) {
  return static_cast<double>(v);
}
extern "C" float wasmshim_floatundisf(unsigned long long v) {
  return static_cast<float>(v);
}
extern "C" long double wasmshim_floatundixf(unsigned long long v) {
  return static_cast<long double>(v);
}
extern "C" unsigned long long wasmshim_fixunsdfdi(double v) {
  return static_cast<unsigned long long>(v);
}
extern "C" unsigned long long wasmshim_fixunssfdi(float v) {
  return static_cast<unsigned long long>(v);
}
extern "C" unsigned long long wasmshim_fixunsxfdi(long double v) {
  return static_cast<unsigned long long>(v);
}

const HostSymbol kHostSymbols[] = {
    {"memcpy", reinterpret_cast<const void*>(&std::memcpy)},
    {"memmove", reinterpret_cast<const void*>(&std::memmove)},
    {"memset", reinterpret_cast<const void*>(&std::memset)},
    {"abort", reinterpret_cast<const void*>(&std::abort)},
    {"floor", reinterpret_cast<const void*>(static_cast<double (*)(double)>(&::floor))},
    {"ceil", reinterpret_cast<const void*>(static_cast<double (*)(double)>(&::ceil))},
    {"trunc", reinterpret_cast<const void*>(static_cast<double (*)(double)>(&::trunc))},
    {"nearbyint", reinterpret_cast<const void*>(static_cast<double (*)(double)>(&::nearbyint))},
    {"sqrt", reinterpret_cast<const void*>(static_cast<double (*)(double)>(&::sqrt))},
    {"fabs", reinterpret_cast<const void*>(static_cast<double (*)(double)>(&::fabs))},
    {"copysign",
     reinterpret_cast<const void*>(static_cast<double (*)(double, double)>(&::copysign))},
    {"copysignf", reinterpret_cast<const void*>(&::copysignf)},
    {"floorf", reinterpret_cast<const void*>(&::floorf)},
    {"ceilf", reinterpret_cast<const void*>(&::ceilf)},
    {"truncf", reinterpret_cast<const void*>(&::truncf)},
    {"nearbyintf", reinterpret_cast<const void*>(&::nearbyintf)},
    {"sqrtf", reinterpret_cast<const void*>(&::sqrtf)},
    {"fabsf", reinterpret_cast<const void*>(&::fabsf)},
    {"__floatundidf", reinterpret_cast<const void*>(&wasmshim_floatundidf)},
    {"__floatundisf", reinterpret_cast<const void*>(&wasmshim_floatundisf)},
    {"__floatundixf", reinterpret_cast<const void*>(&wasmshim_floatundixf)},
    {"__fixunsdfdi", reinterpret_cast<const void*>(&wasmshim_fixunsdfdi)},
    {"__fixunssfdi", reinterpret_cast<const void*>(&wasmshim_fixunssfdi)},
    {"__fixunsxfdi", reinterpret_cast<const void*>(&wasmshim_fixunsxfdi)},
};

void collect_error(void* opaque, const char* message) {
  auto* errors = static_cast<std::string*>(opaque);
  if (errors->size() < 4096) {
    *errors += message;
    *errors += '\n';
  }
}

class TccModule : public CompiledModule {
 public:
  explicit TccModule(TCCState* state) : state_(state) {}
  ~TccModule() override {
    std::lock_guard lock(g_tcc_mu);  // tcc_delete touches libtcc's global state too
    tcc_delete(state_);
  }
  TccModule(const TccModule&) = delete;
  TccModule& operator=(const TccModule&) = delete;
  std::string tier() const override { return "jit"; }

  template <class Fn>
  Fn symbol(const char* name, bool required) {
    void* address = tcc_get_symbol(state_, name);
    if (address == nullptr && required) {
      throw std::runtime_error(std::string("tcc: translated module lacks ") + name);
    }
    return reinterpret_cast<Fn>(address);
  }

  void resolve() {
    glue_.bind = symbol<abi::BindFn>(abi::kBindSymbol, true);
    glue_.instance_size = symbol<abi::InstanceSizeFn>(abi::kInstanceSizeSymbol, true);
    glue_.instantiate = symbol<abi::InstantiateFn>(abi::kInstantiateSymbol, true);
    glue_.free = symbol<abi::FreeFn>(abi::kFreeSymbol, true);
    glue_.memory = symbol<abi::MemoryFn>(abi::kMemorySymbol, true);
    glue_.start = symbol<abi::StartFn>(abi::kStartSymbol, false);
    glue_.import_list = symbol<const char*>(abi::kImportListSymbol, true);
  }

 private:
  TCCState* state_;
};

}  // namespace

std::unique_ptr<CompiledModule> compile_with_tcc(const std::string& c_source,
                                                 const std::string& name) {
  std::lock_guard lock(g_tcc_mu);
  TCCState* state = tcc_new();
  if (state == nullptr) {
    throw std::runtime_error("tcc: cannot create a compiler state");
  }
  auto module = std::make_unique<TccModule>(state);
  std::string errors;
  tcc_set_error_func(state, &errors, collect_error);
  tcc_set_options(state, "-nostdinc -nostdlib");
  tcc_set_output_type(state, TCC_OUTPUT_MEMORY);
  if (tcc_compile_string(state, c_source.c_str()) != 0) {
    throw std::runtime_error("tcc could not compile " + name + ":\n" + errors);
  }
  for (const HostSymbol& symbol : kHostSymbols) {
    tcc_add_symbol(state, symbol.name, symbol.address);
  }
  if (tcc_relocate(state, TCC_RELOCATE_AUTO) < 0) {
    throw std::runtime_error("tcc could not link " + name + ":\n" + errors);
  }
  module->resolve();
  return module;
}

}  // namespace wasmshim::wasm
