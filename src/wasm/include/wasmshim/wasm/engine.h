// The engine: a validated module translated to C (wasm2c) and compiled by a
// tier, then run against WASI.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "wasmshim/wasm/module.h"
#include "wasmshim/wasm/wasi.h"

namespace wasmshim::wasm {

enum class Tier {
  kJit,   // libtcc in memory: starts fast, runs several times slower than native
  kAot,   // system C compiler into a cached shared object: native speed
  kAuto,  // the best tier available now
  // Wasm straight to machine code in one pass, in memory; refuses (naming
  // it) what it does not compile yet: tables beyond call_indirect, bulk
  // memory, SIMD.
  kBaseline,
};

// "jit", "aot", "auto", "baseline"; parse_tier throws std::invalid_argument
// on anything else.
std::string to_string(Tier tier);
Tier parse_tier(const std::string& text);

struct EngineOptions {
  Tier tier = Tier::kAuto;
  // Stack for guest code; running past it is the "call stack exhausted" trap.
  std::size_t stack_bytes = std::size_t{8} << 20;
  // Cap on linear memory; 0 leaves the module's own maximum (at most 4 GiB).
  std::uint64_t max_memory_bytes = 0;
  // Where translated C and compiled objects are kept (see default_cache_dir());
  // empty: nothing is cached and `auto` means `jit`.
  std::string cache_dir;
  // With `auto` and no compiled object yet: start the aot build in the
  // background (low priority) so that a later start finds it.
  bool background_aot = true;
  // How long after a failed background build the next is tried: a build
  // that was killed or ran out of space waits this, doubled for each failure
  // in a row; one the compiler refused is tried once more after this, then
  // the module stays on jit.
  std::chrono::seconds aot_retry_delay{60};
  // The aot tier compiles a module's functions in parts of about this much
  // translated C, one compiler process after another, and links them: the
  // compiler's memory follows the part, not the module.
  std::size_t aot_part_bytes = std::size_t{1} << 20;
  // Where the engine says what a user should know and no error carries: a
  // cache that cannot be written, a damaged entry removed, a module that
  // stays on jit and why. One line per call, without a newline; each such
  // condition is said once. Empty: nowhere.
  std::function<void(std::string_view)> log;
};

// WASMSHIM_CACHE_DIR, else /var/lib/wasmshim/cache.
std::string default_cache_dir();

// What prepare() did, for traces and the CLI.
struct PrepareReport {
  std::string tier;                // "jit" or "aot"
  bool c_from_cache = false;       // the translation was cached
  bool object_from_cache = false;  // a compiled object (aot, or tcc's for jit) was cached
  bool background_build_started = false;
  std::string module_digest;       // SHA-256 of the module's bytes, hex
  bool digest_remembered = false;  // prepare_file: from the cache, the bytes unread
};

// Exit status of a guest that trapped (as an abort would give).
inline constexpr int kTrapExitStatus = 134;

struct RunResult {
  int exit_code = 0;
  std::optional<std::string> trap;  // what trapped, when it did
  std::string tier;                 // the tier that ran it
};

// A module compiled and bound to the host, ready to run any number of times.
class PreparedModule {
 public:
  ~PreparedModule();
  PreparedModule(PreparedModule&&) noexcept;
  PreparedModule& operator=(PreparedModule&&) noexcept;
  const std::string& tier() const;
  const PrepareReport& report() const;

  struct State;

 private:
  friend PreparedModule prepare(const Module&, const EngineOptions&);
  friend PreparedModule prepare_file(const std::string&, const EngineOptions&);
  friend RunResult run(const PreparedModule&, const WasiConfig&, const EngineOptions&);
  explicit PreparedModule(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Refuses, with a ModuleError naming `name`, what prepare() would refuse of
// these imports: anything but WASI preview 1 functions the host provides,
// with their types, and WASI functions without an exported memory.
void check_imports(const std::string& name, const ModuleOutline& outline);

// Checks the imports, translates and compiles. Throws ModuleError for what
// the module asks that cannot be given, std::runtime_error for compile
// failures (with the compiler's messages).
PreparedModule prepare(const Module& module, const EngineOptions& options);

// prepare() for a module file, with a fast path: when the cache holds its aot
// object (keyed by the file's digest), the module is not read again with
// libwabt — the object lists its imports; when the cache also remembers the
// digest of a file with this one's device, inode, size and times, the file
// is not read at all. Throws like Module::from_file and prepare().
PreparedModule prepare_file(const std::string& path, const EngineOptions& options);

// For a module run with background_aot off (in a container whose process
// cannot leave a build behind it): starts the aot build of the module with
// this digest (PrepareReport::module_digest) in the background when the
// cache holds its translation but no object. Returns whether a build started.
bool start_background_build(const std::string& module_digest, const EngineOptions& options);

// Builds the aot object for the module into the cache now (wasmshim compile);
// returns its path. Throws like prepare().
std::string precompile(const Module& module, const EngineOptions& options);

// Instantiates and runs _start. Traps and proc_exit become results; throws
// std::system_error when WASI cannot be set up (a preopen that is missing).
RunResult run(const PreparedModule& prepared, const WasiConfig& wasi, const EngineOptions& options);

}  // namespace wasmshim::wasm
