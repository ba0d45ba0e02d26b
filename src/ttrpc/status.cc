#include "wasmshim/ttrpc/status.h"

#include <array>

namespace wasmshim::ttrpc {

std::string status_code_name(StatusCode code) {
  static constexpr std::array<const char*, 17> kNames = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  auto index = static_cast<int32_t>(code);
  if (index >= 0 && static_cast<std::size_t>(index) < kNames.size()) {
    return kNames[static_cast<std::size_t>(index)];
  }
  return "CODE(" + std::to_string(index) + ")";
}

std::string Status::to_string() const {
  if (message_.empty()) {
    return status_code_name(code_);
  }
  return status_code_name(code_) + ": " + message_;
}

}  // namespace wasmshim::ttrpc
