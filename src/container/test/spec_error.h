// The message parse_oci_spec gives for `json`, or "" when it parses.
#pragma once

#include <string>
#include <string_view>

#include "wasmshim/container/oci_spec.h"

namespace wasmshim::container {

inline std::string error_of(std::string_view json) {
  try {
    parse_oci_spec(json, "/b");
  } catch (const OciSpecError& e) {
    return e.what();
  }
  return "";
}

}  // namespace wasmshim::container
