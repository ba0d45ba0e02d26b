// Private: a translated module compiled to machine code by one of the tiers,
// with its glue functions resolved.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "runtime_abi.h"

namespace wasmshim::wasm {

struct GlueFunctions {
  abi::BindFn bind = nullptr;
  abi::InstanceSizeFn instance_size = nullptr;
  abi::InstantiateFn instantiate = nullptr;
  abi::FreeFn free = nullptr;
  abi::MemoryFn memory = nullptr;
  abi::StartFn start = nullptr;  // null when the module exports no _start
  const char* import_list = nullptr;
};

// Owns the code (a tcc state, a dlopen handle, the baseline compiler's
// mapping) and runs it: by default through the glue functions a translated
// module exports, which stay valid while it lives.
class CompiledModule {
 public:
  virtual ~CompiledModule() = default;
  const GlueFunctions& glue() const { return glue_; }
  virtual std::string tier() const = 0;

  // Once, before any instance: the host's runtime and import functions.
  virtual void bind(const abi::Runtime* runtime, void* const* imports) {
    glue_.bind(runtime, imports);
  }
  virtual std::size_t instance_size() const { return glue_.instance_size(); }
  // On the guest thread (memory and the GS base belong to it); may trap.
  virtual void instantiate(void* instance, void* wasi) const { glue_.instantiate(instance, wasi); }
  // What instantiate allocated (memory, tables); the instance block stays.
  virtual void release(void* instance) const { glue_.free(instance); }
  virtual abi::Memory* memory(void* instance) const { return glue_.memory(instance); }
  virtual bool has_start() const { return glue_.start != nullptr; }
  virtual void start(void* instance) const { glue_.start(instance); }

 protected:
  GlueFunctions glue_;
};

// Tier 0: compiles the C in memory with libtcc. Throws std::runtime_error
// with tcc's messages when the C does not compile or link.
std::unique_ptr<CompiledModule> compile_with_tcc(const std::string& c_source,
                                                 const std::string& name);

// The same compile written as a shared object at `output` carrying `key`
// (wasmshim_cache_key), for the cache: a later start loads it instead of
// compiling again. Its only undefined symbols are libc's and libm's. Throws
// std::runtime_error with tcc's messages when the C does not compile; false
// (and no file) when the object cannot be written.
bool compile_tcc_object(const std::string& c_source, const std::string& name,
                        const std::string& output, const std::string& key);

}  // namespace wasmshim::wasm
