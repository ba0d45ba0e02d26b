#include "wasmshim/otel/context.h"

namespace wasmshim::otel {
namespace {

thread_local Context current_context;

}  // namespace

Context Context::current() {
  return current_context;
}

ContextScope::ContextScope(Context context) : previous_(std::move(current_context)) {
  current_context = std::move(context);
}

ContextScope::~ContextScope() {
  current_context = std::move(previous_);
}

}  // namespace wasmshim::otel
