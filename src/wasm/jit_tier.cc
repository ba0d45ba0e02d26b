// Tier 0: translated C compiled with libtcc — no compiler process, about a
// second for a large module — run from memory, or written as a shared object
// into the cache so the next start only loads it.
#include <libtcc.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
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
};

void collect_error(void* opaque, const char* message) {
  auto* errors = static_cast<std::string*>(opaque);
  if (errors->size() < 4096) {
    *errors += message;
    *errors += '\n';
  }
}

struct TccStateDeleter {
  void operator()(TCCState* state) const {
    std::lock_guard lock(g_tcc_mu);  // tcc_delete touches libtcc's global state too
    tcc_delete(state);
  }
};
using TccStatePtr = std::unique_ptr<TCCState, TccStateDeleter>;

// The translated C compiled into a new state of `output_type`; a non-empty
// cache_key is compiled in (WASMSHIM_CACHE_KEY). The caller holds g_tcc_mu.
TccStatePtr compile_state(const std::string& c_source, const std::string& name, int output_type,
                          const std::string& cache_key, std::string& errors) {
  TccStatePtr state(tcc_new());
  if (!state) {
    throw std::runtime_error("tcc: cannot create a compiler state");
  }
  tcc_set_error_func(state.get(), &errors, collect_error);
  tcc_set_options(state.get(), "-nostdinc -nostdlib");
  tcc_set_output_type(state.get(), output_type);
  if (!cache_key.empty()) {
    tcc_define_symbol(state.get(), "WASMSHIM_CACHE_KEY", ("\"" + cache_key + "\"").c_str());
  }
  if (tcc_compile_string(state.get(), c_source.c_str()) != 0) {
    throw std::runtime_error("tcc could not compile " + name + ":\n" + errors);
  }
  return state;
}

class TccModule : public CompiledModule {
 public:
  explicit TccModule(TccStatePtr state) : state_(std::move(state)) {}
  std::string tier() const override { return "jit"; }

  template <class Fn>
  Fn symbol(const char* name, bool required) {
    void* address = tcc_get_symbol(state_.get(), name);
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
  TccStatePtr state_;
};

}  // namespace

std::unique_ptr<CompiledModule> compile_with_tcc(const std::string& c_source,
                                                 const std::string& name) {
  std::lock_guard lock(g_tcc_mu);
  std::string errors;
  TccStatePtr state = compile_state(c_source, name, TCC_OUTPUT_MEMORY, "", errors);
  for (const HostSymbol& symbol : kHostSymbols) {
    tcc_add_symbol(state.get(), symbol.name, symbol.address);
  }
  if (tcc_relocate(state.get(), TCC_RELOCATE_AUTO) < 0) {
    throw std::runtime_error("tcc could not link " + name + ":\n" + errors);
  }
  auto module = std::make_unique<TccModule>(std::move(state));
  module->resolve();
  return module;
}

bool compile_tcc_object(const std::string& c_source, const std::string& name,
                        const std::string& output, const std::string& key) {
  std::lock_guard lock(g_tcc_mu);
  std::string errors;
  TccStatePtr state = compile_state(c_source, name, TCC_OUTPUT_DLL, key, errors);
  if (tcc_output_file(state.get(), output.c_str()) != 0) {
    ::unlink(output.c_str());
    return false;
  }
  return true;
}

}  // namespace wasmshim::wasm
