// Private: tier 1 — translated C compiled by the system C compiler into a
// shared object kept in the cache, loaded with dlopen.
#pragma once

#include <memory>
#include <string>

#include "cache.h"
#include "compiled_module.h"

namespace wasmshim::wasm {

// Identifies the compiler and flags, for cache keys: a different compiler or
// flags make a different entry.
std::string aot_compiler_id();

// Compiles c_path to a shared object at output, waiting for the compiler.
// The object carries `key` so a loader can tell it is the entry it wants.
// Throws std::runtime_error with the compiler's messages on failure.
void compile_aot(const std::string& c_path, const std::string& output, const std::string& key);

// Starts compile_aot in a detached, low-priority background job that
// publishes cache entry so_name when done; at most one job per entry (a lock
// file in the cache). Returns false when the entry is there already, a job
// is running, an earlier one failed (its log is left), or none can start.
bool start_background_aot(const ModuleCache& cache, const std::string& c_name,
                          const std::string& so_name, const std::string& key);

// Loads a compiled entry; nothing when it is missing, not loadable, or carries
// another key (a foreign or damaged entry, which is then removed).
std::unique_ptr<CompiledModule> load_aot(const ModuleCache& cache, const std::string& so_name,
                                         const std::string& key);

// The same for any tier's shared object in the cache (the jit tier keeps
// what tcc made there too); `tier` names it in the loaded module.
std::unique_ptr<CompiledModule> load_cached_object(const ModuleCache& cache,
                                                   const std::string& name, const std::string& key,
                                                   const char* tier);

}  // namespace wasmshim::wasm
