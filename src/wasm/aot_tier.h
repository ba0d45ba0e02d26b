// Private: tier 1 — translated C compiled by the system C compiler into a
// shared object kept in the cache, loaded with dlopen.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "cache.h"
#include "compiled_module.h"

namespace wasmshim::wasm {

// Identifies the compiler and flags, for cache keys: a different compiler or
// flags make a different entry.
std::string aot_compiler_id();

// How many attempts a build may make, each with flags that avoid more of
// what has made compilers crash on ordinary code (at some cost in speed).
std::size_t aot_compile_attempts();

// The commands that build the translation at c_path, of `parts` parts
// (translation_parts), into the shared object `output` on the given attempt,
// the object carrying `key`: one compile per part into the objects
// aot_part_objects names, then the link; a translation of one part is
// compiled and linked by one command.
std::vector<std::vector<std::string>> aot_build_commands(const std::string& c_path,
                                                         std::size_t parts,
                                                         const std::string& output,
                                                         const std::string& key,
                                                         std::size_t attempt = 0);
std::vector<std::string> aot_part_objects(const std::string& output, std::size_t parts);

// The part count the translation at c_path names in its first line; 1 when
// it names none or cannot be read.
std::size_t translation_parts(const std::string& c_path);

// Whether a compiler's wait status is a failure another attempt may avoid:
// a non-zero exit, or a crash (a signal other than SIGKILL).
bool compiler_refused(int status);

// Compiles c_path to a shared object at output, waiting for the compiler,
// and makes the next attempt when one is refused. The object carries `key`
// so a loader can tell it is the entry it wants. Throws std::runtime_error
// with the first attempt's messages when every attempt fails.
void compile_aot(const std::string& c_path, const std::string& output, const std::string& key);

// Loads a compiled entry; nothing when it is missing, damaged (its seal is
// not sound), not loadable, or carries another key (a foreign entry): such an
// entry is removed, and never mapped when its seal is not sound.
std::unique_ptr<CompiledModule> load_aot(const ModuleCache& cache, const std::string& so_name,
                                         const std::string& key);

// The same for any tier's shared object in the cache (the jit tier keeps
// what tcc made there too); `tier` names it in the loaded module.
std::unique_ptr<CompiledModule> load_cached_object(const ModuleCache& cache,
                                                   const std::string& name, const std::string& key,
                                                   const char* tier);

// Loads the object open on fd (path names it when /proc is missing), which
// must carry `key`; the module keeps the fd. Nothing when it does not load.
std::unique_ptr<CompiledModule> load_object_fd(UniqueFd fd, const std::string& path,
                                               const std::string& key, const char* tier);

}  // namespace wasmshim::wasm
