// Small files and answers written with plain calls. `start`, `delete` and
// the daemon write a line or two per task; a stream's locale and buffers
// would be pages touched, each a fault, in processes that live for one
// task (and, after `start`'s fork, copied first).
#pragma once

#include <string>
#include <string_view>

#include "wasmshim/base/fd_io.h"

namespace wasmshim::shim {

using base::write_all;
using base::write_file;

// The first line of a short file (up to 256 bytes of it), without its
// newline; empty if there is no such file.
std::string read_first_line(const std::string& path);

}  // namespace wasmshim::shim
