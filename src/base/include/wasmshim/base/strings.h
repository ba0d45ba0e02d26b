// String helpers every layer uses.
#pragma once

#include <string_view>

namespace wasmshim::base {

// The characters isspace() accepts in the C locale.
inline constexpr std::string_view kWhitespace = " \t\n\v\f\r";

// `text` without leading and trailing characters from `characters`; a view
// into `text`, so it must outlive the result.
std::string_view trim(std::string_view text, std::string_view characters = kWhitespace);

}  // namespace wasmshim::base
