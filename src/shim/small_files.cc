#include "small_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "wasmshim/base/unique_fd.h"

namespace wasmshim::shim {

std::string read_first_line(const std::string& path) {
  const base::UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) {
    return {};
  }
  std::array<char, 256> buffer{};
  std::size_t length = 0;
  while (length < buffer.size()) {
    const ssize_t n = ::read(file.get(), buffer.data() + length, buffer.size() - length);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    length += static_cast<std::size_t>(n);
  }
  const std::string_view text(buffer.data(), length);
  return std::string(text.substr(0, text.find('\n')));
}

}  // namespace wasmshim::shim
