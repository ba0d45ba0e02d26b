#include "small_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "wasmshim/ttrpc/unix_socket.h"

namespace wasmshim::shim {

bool write_small_file(const std::string& path, std::string_view text) {
  const ttrpc::UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  return file.get() >= 0 && write_all(file.get(), text);
}

std::string read_first_line(const std::string& path) {
  const ttrpc::UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
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
