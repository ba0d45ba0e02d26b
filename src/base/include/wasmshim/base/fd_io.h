// Reading a descriptor to its end and writing all of a text, retrying
// what a signal interrupted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wasmshim::base {

// All of `text`; false (errno set) on an error or a short write, which is
// reported as ENOSPC.
bool write_all(int fd, std::string_view text);

// Everything left to read on `fd`; nullopt (errno set) on an error.
std::optional<std::string> read_all(int fd);

}  // namespace wasmshim::base
