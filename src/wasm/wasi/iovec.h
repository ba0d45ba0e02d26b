// Private: guest iovec arrays as host iovecs, every buffer bounds-checked.
#pragma once

#include <sys/uio.h>

#include <cerrno>
#include <vector>

#include "context.h"

namespace wasmshim::wasm::wasi {

// Each guest iovec is {u32 buf, u32 buf_len}. Returns kFault when the array
// or any buffer lies outside memory.
inline Errno host_iovecs(const Context& context, std::uint32_t iovs, std::uint32_t count,
                         std::vector<iovec>& out) {
  out.clear();
  if (count > 1024) {
    return kInval;  // IOV_MAX
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t buf = 0;
    std::uint32_t len = 0;
    if (!context.load(iovs + i * 8, buf) || !context.load(iovs + i * 8 + 4, len)) {
      return kFault;
    }
    std::uint8_t* p = context.bytes(buf, len);
    if (p == nullptr) {
      return kFault;
    }
    out.push_back(iovec{p, len});
  }
  return kSuccess;
}

// The shared body of the fd_* and sock_* calls that move data through
// iovecs: checks the descriptor holds needed and the iovecs, runs
// io(host_fd, iovecs, count) -> bytes or -1 with errno, stores the byte
// count at count_out.
template <class Io>
std::uint32_t vectored_io(Context* c, std::uint32_t fd, Rights needed, std::uint32_t iovs,
                          std::uint32_t iovs_len, std::uint32_t count_out, Io io) {
  Errno error = kSuccess;
  Descriptor* d = c->find(fd, needed, error);
  if (d == nullptr) {
    return error;
  }
  std::vector<iovec> vec;
  if (Errno e = host_iovecs(*c, iovs, iovs_len, vec); e != kSuccess) {
    return e;
  }
  ssize_t n = io(d->host_fd, vec.data(), static_cast<int>(vec.size()));
  if (n < 0) {
    return from_errno(errno);
  }
  return c->store(count_out, static_cast<std::uint32_t>(n)) ? kSuccess : kFault;
}

}  // namespace wasmshim::wasm::wasi
