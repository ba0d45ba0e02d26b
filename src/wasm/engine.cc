#include "wasmshim/wasm/engine.h"

#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "c_translation.h"
#include "compiled_module.h"
#include "runtime.h"
#include "wasi/context.h"
#include "wasi/functions.h"

namespace wasmshim::wasm {

struct PreparedModule::State {
  std::unique_ptr<CompiledModule> compiled;
  std::vector<void*> imports;  // host functions, in the module's import order
  std::string tier;
  bool has_start = false;
};

namespace {

constexpr const char* kWasiModule = "wasi_snapshot_preview1";

std::vector<void*> bind_imports(const Module& module) {
  if (!module.other_imports().empty()) {
    throw ModuleError(module.name(), 0,
                      "imports " + module.other_imports().front() + ", but only functions of " +
                          kWasiModule + " can be imported");
  }
  std::vector<void*> imports;
  for (const FunctionImport& import : module.function_imports()) {
    const wasi::HostFunction* host =
        import.module == kWasiModule ? wasi::find_function(import.name) : nullptr;
    if (host == nullptr) {
      throw ModuleError(module.name(), 0,
                        "imports " + import.module + "." + import.name + ", which is not provided");
    }
    if (!(host->type == import.type)) {
      throw ModuleError(module.name(), 0,
                        "imports " + import.module + "." + import.name + " as " +
                            to_string(import.type) + ", but its type is " + to_string(host->type));
    }
    imports.push_back(host->address);
  }
  if (!imports.empty() && !module.exports_memory()) {
    throw ModuleError(module.name(), 0,
                      "imports WASI functions but exports no memory for them to use");
  }
  return imports;
}

struct GuestRun {
  const GlueFunctions* glue;
  wasi::Context* context;
  void* instance;
};

// Runs on the guarded guest thread: no C++ objects with destructors live
// here across the calls into guest code, which may jump out.
void guest_body(void* raw) {
  auto* run = static_cast<GuestRun*>(raw);
  run->glue->instantiate(run->instance, run->context);
  run->context->set_memory(run->glue->memory(run->instance));
  if (run->glue->start != nullptr) {
    run->glue->start(run->instance);
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
  throw std::invalid_argument("unknown tier \"" + text + "\" (expected jit, aot or auto)");
}

PreparedModule::PreparedModule(std::unique_ptr<State> state) : state_(std::move(state)) {}
PreparedModule::~PreparedModule() = default;
PreparedModule::PreparedModule(PreparedModule&&) noexcept = default;
PreparedModule& PreparedModule::operator=(PreparedModule&&) noexcept = default;
const std::string& PreparedModule::tier() const {
  return state_->tier;
}

PreparedModule prepare(const Module& module, const EngineOptions& options) {
  if (options.tier == Tier::kAot) {
    throw std::runtime_error("the aot tier is not implemented yet; use --tier jit");
  }
  auto state = std::make_unique<PreparedModule::State>();
  state->imports = bind_imports(module);
  std::string source = translate_to_c(module);
  state->compiled = compile_with_tcc(source, module.name());
  state->tier = state->compiled->tier();
  state->has_start = state->compiled->glue().start != nullptr;
  state->compiled->glue().bind(reinterpret_cast<const abi::Runtime*>(&host_runtime()),
                               state->imports.data());
  return PreparedModule(std::move(state));
}

RunResult run(const PreparedModule& prepared, const WasiConfig& wasi_config,
              const EngineOptions& options) {
  const PreparedModule::State& state = *prepared.state_;
  if (!state.has_start) {
    throw std::runtime_error("the module exports no _start function to run");
  }
  set_memory_page_limit(options.max_memory_bytes > 0 ? options.max_memory_bytes / 65536
                                                     : UINT64_MAX);
  wasi::Context context(wasi_config);
  const GlueFunctions& glue = state.compiled->glue();
  void* instance = std::calloc(1, glue.instance_size());
  if (instance == nullptr) {
    throw std::bad_alloc();
  }
  GuestRun guest{&glue, &context, instance};
  GuestOutcome outcome = run_guarded(guest_body, &guest, options.stack_bytes);
  glue.free(instance);
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
      break;
  }
  return result;
}

}  // namespace wasmshim::wasm
