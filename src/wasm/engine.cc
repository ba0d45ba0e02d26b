#include "wasmshim/wasm/engine.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "aot_background.h"
#include "aot_tier.h"
#include "baseline/baseline_module.h"
#include "baseline/x64_assembler.h"
#include "c_translation.h"
#include "cache.h"
#include "compiled_module.h"
#include "host_imports.h"
#include "runtime.h"
#include "sealed_object.h"
#include "wasi/context.h"
#include "wasi/functions.h"
#include "wasmshim/otel/instrument.h"

namespace wasmshim::wasm {

struct PreparedModule::State {
  std::unique_ptr<CompiledModule> compiled;
  std::vector<void*> imports;  // host functions, in the module's import order
  std::string tier;
  bool has_start = false;
  PrepareReport report;
};

namespace {

std::vector<void*> bind_imports(const Module& module) {
  return host_functions_for(module.name(), module.function_imports(), module.other_imports(),
                            module.exports_memory());
}

std::string type_codes(const FunctionType& type) {
  auto codes = [](const std::vector<ValueType>& types) {
    std::string out;
    for (ValueType t : types) {
      out += t == ValueType::kI32   ? 'i'
             : t == ValueType::kI64 ? 'I'
             : t == ValueType::kF32 ? 'f'
                                    : 'F';
    }
    return out;
  };
  return codes(type.params) + ":" + codes(type.results);
}

// Binds the imports a compiled object lists (see abi::kImportListSymbol).
std::vector<void*> bind_import_list(const std::string& name, const char* list) {
  std::vector<void*> imports;
  std::istringstream lines(list);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string module_name;
    std::string field;
    std::string codes;
    std::getline(fields, module_name, '\t');
    std::getline(fields, field, '\t');
    std::getline(fields, codes);
    const wasi::HostFunction* host =
        module_name == kWasiModule ? wasi::find_function(field) : nullptr;
    if (host == nullptr || type_codes(host->type) != codes) {
      throw ModuleError(
          name, 0,
          "cached object imports " + module_name + "." + field + ", which is not provided");
    }
    imports.push_back(host->address);
  }
  return imports;
}

struct GuestRun {
  const CompiledModule* compiled;
  wasi::Context* context;
  void* instance;
  // When instantiation ended; a plain number, as nothing with a destructor
  // may live on the guest thread.
  std::int64_t instantiated_at = 0;
};

// Runs on the guarded guest thread: no C++ objects with destructors live
// here across the calls into guest code, which may jump out.
void guest_body(void* raw) {
  auto* run = static_cast<GuestRun*>(raw);
  run->compiled->instantiate(run->instance, run->context);
  run->context->set_memory(run->compiled->memory(run->instance));
  run->instantiated_at = trace::now_unix_nano();
  if (run->compiled->has_start()) {
    run->compiled->start(run->instance);
  }
}

}  // namespace

std::string to_string(Tier tier) {
  switch (tier) {
    case Tier::kJit:
      return "jit";
    case Tier::kAot:
      return "aot";
    case Tier::kAuto:
      return "auto";
    case Tier::kBaseline:
      return "baseline";
  }
  return "auto";
}

Tier parse_tier(const std::string& text) {
  if (text == "jit") {
    return Tier::kJit;
  }
  if (text == "aot") {
    return Tier::kAot;
  }
  if (text == "auto") {
    return Tier::kAuto;
  }
  if (text == "baseline") {
    return Tier::kBaseline;
  }
  throw std::invalid_argument("unknown tier \"" + text +
                              "\" (expected jit, aot, auto or baseline)");
}

PreparedModule::PreparedModule(std::unique_ptr<State> state) : state_(std::move(state)) {}
PreparedModule::~PreparedModule() = default;
PreparedModule::PreparedModule(PreparedModule&&) noexcept = default;
PreparedModule& PreparedModule::operator=(PreparedModule&&) noexcept = default;
const std::string& PreparedModule::tier() const {
  return state_->tier;
}
const PrepareReport& PreparedModule::report() const {
  return state_->report;
}

namespace {

// Cache entry names for one module under this engine build.
struct CacheNames {
  std::string c_key;
  std::string c_name;
  std::string aot_key;
  std::string so_name;
  std::string jit_key;
  std::string jit_name;        // not .so: what tcc made is no aot entry
  std::size_t part_bytes = 0;  // the translation's (c_partition.h)
};

// Names tcc and its options, for the jit object's key.
constexpr const char* kJitCompilerId = "libtcc 0.9.27 -nostdinc -nostdlib shared";

CacheNames cache_names(const std::string& digest, const EngineOptions& options) {
  CacheNames names;
  names.part_bytes = options.aot_part_bytes;
  const std::string translation =
      kTranslationVersion + std::string(" parts of ") + std::to_string(names.part_bytes) + " bytes";
  names.c_key = ModuleCache::key({digest, translation});
  names.c_name = names.c_key + ".c";
  names.aot_key = ModuleCache::key({digest, translation, aot_compiler_id()});
  names.so_name = names.aot_key + ".so";
  names.jit_key = ModuleCache::key({digest, translation, kJitCompilerId});
  names.jit_name = names.jit_key + ".jit";
  return names;
}

std::unique_ptr<CompiledModule> load_jit_object(const ModuleCache& cache, const CacheNames& names) {
  return load_cached_object(cache, names.jit_name, names.jit_key, "jit");
}

// The whole content of a file, mapped read-only.
class MappedFile {
 public:
  explicit MappedFile(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      size_ = static_cast<std::size_t>(st.st_size);
      void* address = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
      address_ = address == MAP_FAILED ? nullptr : address;
    }
  }
  ~MappedFile() {
    if (address_ != nullptr) {
      ::munmap(address_, size_);
    }
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view bytes() const {
    return address_ == nullptr ? std::string_view()
                               : std::string_view(static_cast<const char*>(address_), size_);
  }

 private:
  void* address_ = nullptr;
  std::size_t size_ = 0;
};

// tcc's code for the module. tcc writes its object into an anonymous file
// in memory, whose size is then known and whose writes cannot fail for want
// of disk; a whole object is copied into the cache, sealed, so that no later
// start compiles it again, and loaded from memory either way (a cache that
// cannot take it costs the next start a compile, not this one).
std::unique_ptr<CompiledModule> compile_jit(const std::string& source, const std::string& name,
                                            const ModuleCache& cache, const CacheNames& names) {
  UniqueFd object(::memfd_create("wasmshim-jit", MFD_CLOEXEC));
  const std::string by_fd = object.valid() ? "/proc/self/fd/" + std::to_string(object.get()) : "";
  if (object.valid() && ::access(by_fd.c_str(), W_OK) == 0 &&
      compile_tcc_object(source, name, by_fd, names.jit_key)) {
    bool whole = false;
    {
      const MappedFile written(object.get());
      whole = elf_incompleteness(written.bytes()).empty();
      if (whole && cache.enabled()) {
        (void)cache.write_sealed(names.jit_name, written.bytes());
      }
    }
    if (whole) {
      if (auto compiled = load_object_fd(std::move(object), by_fd, names.jit_key, "jit")) {
        return compiled;
      }
    }
  }
  return compile_with_tcc(source, name);
}

// Under `auto`, the aot build of a module that ran jit, started in the
// background from its cached translation (at most one at a time, none once
// built or after one failed: see start_background_aot), so that a later
// start finds it. Whether this process may leave the build behind is the
// caller's to say (EngineOptions::background_aot).
bool start_aot_in_background(const ModuleCache& cache, const CacheNames& names,
                             const EngineOptions& options, const std::string& module_name) {
  if (options.tier != Tier::kAuto || !cache.enabled() || !segment_base_available() ||
      ::access(cache.path(names.c_name).c_str(), R_OK) != 0) {
    return false;
  }
  return start_background_aot(cache, names.c_name, names.so_name, names.aot_key,
                              options.aot_retry_delay, module_name);
}

// A module that runs jit under `auto`: starts its aot build where this
// process may leave one behind, else only says (once) why an earlier one
// failed. Returns whether a build started.
bool after_jit_start(const ModuleCache& cache, const CacheNames& names,
                     const EngineOptions& options, const std::string& module_name) {
  if (options.background_aot) {
    return start_aot_in_background(cache, names, options, module_name);
  }
  if (options.tier == Tier::kAuto) {
    report_background_aot(cache, names.so_name, options.aot_retry_delay, module_name);
  }
  return false;
}

struct Translation {
  std::string source;
  bool from_cache = false;
  bool in_cache = false;  // the cache holds it now, for the aot compiler to read
};

// The last line of a cached translation: the size and checksum of all
// before it, so that one cut short or changed is made again.
std::string translation_end(std::string_view body) {
  char line[80];
  std::snprintf(line, sizeof line, "/* wasmshim-c-end %zu %016" PRIx64 " */\n", body.size(),
                content_checksum(body));
  return line;
}

// The cached translation's body when it is whole and this key's.
std::optional<std::string> whole_translation(std::string text, const std::string& marker) {
  const std::size_t end = text.rfind("/* wasmshim-c-end ");
  if (text.rfind(marker, 0) != 0 || end == std::string::npos ||
      text.compare(end, std::string::npos,
                   translation_end(std::string_view(text).substr(0, end))) != 0) {
    return std::nullopt;
  }
  text.resize(end);
  return text;
}

// The translation, from the cache when it holds this module's whole (its
// first line names the key, its last its size and checksum), else made now
// and stored.
Translation translation(const Module& module, const ModuleCache& cache, const CacheNames& names) {
  const std::string marker = "/* wasmshim-c " + names.c_key + " */\n";
  if (auto cached = cache.read(names.c_name)) {
    if (auto body = whole_translation(std::move(*cached), marker)) {
      return Translation{std::move(*body), true, true};
    }
    cache.remove(names.c_name);
    cache.log("cache entry " + cache.path(names.c_name) +
              " is damaged, cut short, changed or another's: removed, to be rebuilt");
  }
  std::string source = marker + translate_to_c(module, names.part_bytes);
  const bool stored =
      cache.enabled() && cache.write(names.c_name, source + translation_end(source));
  return Translation{std::move(source), false, stored};
}

// A directory for the aot compile when there is no cache to hold its files.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = "/tmp/wasmshim-aot-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a scratch directory for the aot compiler");
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    ::unlink((path_ + "/m.c").c_str());
    ::unlink((path_ + "/m.tmp.so").c_str());
    ::unlink((path_ + "/m.so").c_str());
    ::rmdir(path_.c_str());
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The aot object built into the cache and loaded from there; nothing when
// the cache cannot hold it (said once in the log).
std::unique_ptr<CompiledModule> build_aot_in_cache(const Module& module, const ModuleCache& cache,
                                                   const CacheNames& names, PrepareReport& report) {
  if (!cache.enabled() || !cache.ensure_dir()) {
    return nullptr;
  }
  Translation c = translation(module, cache, names);
  report.c_from_cache = c.from_cache;
  if (!c.in_cache) {
    return nullptr;
  }
  const std::string temporary = cache.temporary_path(names.so_name);
  try {
    compile_aot(cache.path(names.c_name), temporary, names.aot_key);
  } catch (...) {
    ::unlink(temporary.c_str());
    throw;
  }
  if (!cache.seal_and_publish(temporary, names.so_name)) {
    return nullptr;
  }
  auto compiled = load_aot(cache, names.so_name, names.aot_key);
  if (!compiled) {
    throw std::runtime_error("the compiled module in " + cache.dir() + " does not load");
  }
  return compiled;
}

// Builds the aot object for the module and loads it. With a cache that can
// hold it, the object is published there; else it lives in a scratch
// directory while loaded (dlopen keeps the mapping after the file is gone).
std::unique_ptr<CompiledModule> build_aot(const Module& module, const ModuleCache& cache,
                                          const CacheNames& names, PrepareReport& report) {
  if (auto compiled = build_aot_in_cache(module, cache, names, report)) {
    return compiled;
  }
  ScratchDir scratch;
  ModuleCache scratch_cache(scratch.path(), cache.log_sink());
  std::string source = translate_to_c(module, names.part_bytes);
  if (!scratch_cache.write("m.c", source)) {
    throw std::runtime_error("cannot write " + scratch.path() + "/m.c");
  }
  compile_aot(scratch_cache.path("m.c"), scratch_cache.path("m.tmp.so"), names.aot_key);
  if (!scratch_cache.seal_and_publish(scratch_cache.path("m.tmp.so"), "m.so")) {
    throw std::runtime_error("cannot write the compiled module into " + scratch.path());
  }
  auto compiled = load_aot(scratch_cache, "m.so", names.aot_key);
  if (!compiled) {
    throw std::runtime_error("the compiled module does not load");
  }
  return compiled;
}

// The module through the baseline compiler, where this process and CPU
// allow its code.
std::unique_ptr<CompiledModule> compile_baseline(const Module& module) {
  if (!segment_base_available() || !x64::cpu_has_baseline_features()) {
    throw std::runtime_error(
        "the baseline tier needs arch_prctl(ARCH_SET_GS) and a CPU with SSE4.1, POPCNT, LZCNT "
        "and BMI1");
  }
  return baseline::compile_module(module);
}

// The module through its C translation: the cached aot object, a new one
// (aot), tcc's cached object, or tcc now.
std::unique_ptr<CompiledModule> compile_translated(const Module& module,
                                                   const EngineOptions& options,
                                                   const ModuleCache& cache,
                                                   const CacheNames& names, PrepareReport& report) {
  std::unique_ptr<CompiledModule> compiled;
  // Code from the aot tier addresses memory through GS; where a seccomp
  // profile forbids setting it, only jit can run.
  const bool aot_possible = segment_base_available();
  if (options.tier == Tier::kAot && !aot_possible) {
    throw std::runtime_error(
        "the aot tier needs arch_prctl(ARCH_SET_GS), which this process may not call");
  }
  if (options.tier != Tier::kJit && aot_possible) {
    compiled = load_aot(cache, names.so_name, names.aot_key);
    report.object_from_cache = compiled != nullptr;
  }
  if (!compiled && options.tier == Tier::kAot) {
    compiled = build_aot(module, cache, names, report);
  }
  if (!compiled) {
    compiled = load_jit_object(cache, names);
    report.object_from_cache = compiled != nullptr;
  }
  if (!compiled) {
    Translation c = translation(module, cache, names);
    report.c_from_cache = c.from_cache;
    compiled = compile_jit(c.source, module.name(), cache, names);
  }
  return compiled;
}

}  // namespace

PreparedModule prepare(const Module& module, const EngineOptions& options) {
  trace::ScopedSpan span("wasmshim.wasm", "wasm.compile");
  auto state = std::make_unique<PreparedModule::State>();
  state->imports = bind_imports(module);
  ModuleCache cache(options.cache_dir, options.log);
  CacheNames names = cache_names(module.digest(), options);
  PrepareReport& report = state->report;

  if (options.tier == Tier::kBaseline) {
    state->compiled = compile_baseline(module);
  } else {
    state->compiled = compile_translated(module, options, cache, names, report);
  }
  if (state->compiled->tier() == "jit") {
    report.background_build_started = after_jit_start(cache, names, options, module.name());
  }
  state->tier = state->compiled->tier();
  report.tier = state->tier;
  report.module_digest = module.digest();
  span.set("wasm.tier", state->tier)
      .set("wasm.cache_hit", report.object_from_cache || report.c_from_cache)
      .set("wasm.aot_in_background", report.background_build_started);
  state->has_start = state->compiled->has_start();
  state->compiled->bind(&host_runtime(), state->imports.data());
  return PreparedModule(std::move(state));
}

bool start_background_build(const std::string& module_digest, const EngineOptions& options) {
  return start_aot_in_background(ModuleCache(options.cache_dir, options.log),
                                 cache_names(module_digest, options), options,
                                 "module " + module_digest.substr(0, 12));
}

namespace {

// The object the cache holds for the module's bytes: the aot one where the
// tier allows it, else tcc's; nothing when neither is there.
std::unique_ptr<CompiledModule> cached_object(const ModuleCache& cache, const CacheNames& names,
                                              const EngineOptions& options) {
  std::unique_ptr<CompiledModule> compiled;
  if (options.tier == Tier::kBaseline) {
    return compiled;  // compiled at every start, never cached
  }
  if (options.tier != Tier::kJit && segment_base_available()) {
    compiled = load_aot(cache, names.so_name, names.aot_key);
  }
  if (!compiled && options.tier != Tier::kAot) {
    compiled = load_jit_object(cache, names);
  }
  return compiled;
}

// The module at `path` prepared from the object the cache holds for its
// digest; nullptr when the cache holds none.
std::unique_ptr<PreparedModule::State> from_cached_object(const std::string& path,
                                                          const std::string& digest,
                                                          const ModuleCache& cache,
                                                          const EngineOptions& options) {
  const CacheNames names = cache_names(digest, options);
  auto compiled = cached_object(cache, names, options);
  if (!compiled) {
    return nullptr;
  }
  auto state = std::make_unique<PreparedModule::State>();
  state->imports = bind_import_list(path, compiled->glue().import_list);
  state->compiled = std::move(compiled);
  state->tier = state->compiled->tier();
  state->report.tier = state->tier;
  state->report.module_digest = digest;
  state->report.object_from_cache = true;
  if (state->tier == "jit") {
    state->report.background_build_started = after_jit_start(cache, names, options, path);
  }
  state->has_start = state->compiled->has_start();
  state->compiled->bind(&host_runtime(), state->imports.data());
  return state;
}

}  // namespace

PreparedModule prepare_file(const std::string& path, const EngineOptions& options) {
  trace::ScopedSpan span("wasmshim.wasm", "wasm.load");
  span.set("wasm.module", path);
  // From a cached object libwabt is not needed: the object lists its
  // imports. With the digest remembered for the file, neither are its bytes.
  const ModuleCache cache(options.cache_dir, options.log);
  const std::optional<FileStamp> stamp = cache.enabled() ? stamp_of(path) : std::nullopt;
  if (stamp) {
    if (auto digest = cache.remembered_digest(*stamp)) {
      if (auto state = from_cached_object(path, *digest, cache, options)) {
        state->report.digest_remembered = true;
        span.set("wasm.module.bytes", stamp->size)
            .set("wasm.tier", state->tier)
            .set("wasm.cache_hit", true);
        return PreparedModule(std::move(state));
      }
    }
  }
  std::vector<std::uint8_t> bytes = read_module_bytes(path);
  span.set("wasm.module.bytes", static_cast<std::int64_t>(bytes.size()));
  if (cache.enabled()) {
    const std::string digest = module_digest(bytes);
    // Only what was read under this very stamp is remembered by it.
    if (stamp && stamp == stamp_of(path)) {
      cache.remember_digest(*stamp, digest);
    }
    if (auto state = from_cached_object(path, digest, cache, options)) {
      span.set("wasm.tier", state->tier).set("wasm.cache_hit", true);
      return PreparedModule(std::move(state));
    }
  }
  try {
    return prepare(Module::from_bytes(path, std::move(bytes)), options);
  } catch (const std::exception& e) {
    span.fail(e.what());
    throw;
  }
}

std::string precompile(const Module& module, const EngineOptions& options) {
  ModuleCache cache(options.cache_dir, options.log);
  if (!cache.enabled() || !cache.ensure_dir()) {
    throw std::runtime_error("no usable cache directory (" + options.cache_dir +
                             ") to compile into");
  }
  bind_imports(module);  // refuse what could never run before spending a compile on it
  CacheNames names = cache_names(module.digest(), options);
  if (!load_aot(cache, names.so_name, names.aot_key)) {
    PrepareReport report;
    build_aot(module, cache, names, report);
  }
  return cache.path(names.so_name);
}

RunResult run(const PreparedModule& prepared, const WasiConfig& wasi_config,
              const EngineOptions& options) {
  const PreparedModule::State& state = *prepared.state_;
  trace::ScopedSpan span("wasmshim.wasm", "wasm.run");
  span.set("wasm.tier", state.tier);
  if (!state.has_start) {
    throw std::runtime_error("the module exports no _start function to run");
  }
  set_memory_page_limit(options.max_memory_bytes > 0 ? options.max_memory_bytes / 65536
                                                     : UINT64_MAX);
  wasi::Context context(wasi_config);
  const CompiledModule& compiled = *state.compiled;
  void* instance = std::calloc(1, compiled.instance_size());
  if (instance == nullptr) {
    throw std::bad_alloc();
  }
  GuestRun guest{&compiled, &context, instance};
  const std::int64_t started = trace::now_unix_nano();
  GuestOutcome outcome = run_guarded(guest_body, &guest, options.stack_bytes);
  if (guest.instantiated_at != 0) {
    trace::record_span("wasmshim.wasm", "wasm.instantiate", started, guest.instantiated_at);
  }
  compiled.release(instance);
  std::free(instance);
  RunResult result;
  result.tier = state.tier;
  switch (outcome.kind) {
    case GuestOutcome::Kind::kReturned:
      result.exit_code = 0;
      break;
    case GuestOutcome::Kind::kExited:
      result.exit_code = outcome.exit_code;
      break;
    case GuestOutcome::Kind::kTrapped:
      result.exit_code = kTrapExitStatus;
      result.trap = trap_message(outcome.trap);
      span.fail("wasm trap: " + *result.trap);
      break;
  }
  span.set("exit_code", static_cast<std::int64_t>(result.exit_code));
  return result;
}

}  // namespace wasmshim::wasm
