#include "wasmshim/runtime/module_run.h"

#include <cstdio>
#include <exception>

namespace wasmshim::runtime {

int run_module(ModuleRun& run, trace::ScopedSpan& span,
               const std::function<ModuleOutcome(ModuleRun&)>& steps) {
  try {
    const ModuleOutcome outcome = steps(run);
    if (outcome.trap) {
      std::fprintf(stderr, "wasmshim: %s: wasm trap: %s\n", run.name.c_str(),
                   outcome.trap->c_str());
      span.fail("wasm trap: " + *outcome.trap);
    }
    span.set("exit_code", static_cast<std::int64_t>(outcome.exit_code));
    return outcome.exit_code;
  } catch (const std::exception& e) {
    const std::string message = as_container_sees_it(e.what(), run.host_root);
    std::fprintf(stderr, "wasmshim: %s\n", message.c_str());
    span.fail(message);
    return kCannotRun;
  }
}

std::string as_container_sees_it(const std::string& message, const std::string& host_root) {
  if (host_root.empty() || host_root == "/") {
    return message;
  }
  const std::string prefix = host_root.ends_with('/') ? host_root : host_root + "/";
  std::string seen;
  std::size_t from = 0;
  for (std::size_t at = message.find(prefix); at != std::string::npos;
       at = message.find(prefix, from)) {
    seen.append(message, from, at - from).push_back('/');
    from = at + prefix.size();
  }
  return seen.append(message, from);
}

}  // namespace wasmshim::runtime
