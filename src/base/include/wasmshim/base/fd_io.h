// Reading a descriptor or a small file to its end and writing all of a
// text, retrying what a signal interrupted.
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

// The whole of the file at `path`; nullopt (errno set) when it cannot be
// opened or read.
std::optional<std::string> read_file(const std::string& path);

// Creates or replaces the file at `path` (mode 0644 when created) with
// `text`; false (errno set) if it could not. Not atomic: a reader may see
// the file half written.
bool write_file(const std::string& path, std::string_view text);

}  // namespace wasmshim::base
