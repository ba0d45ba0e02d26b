// Private: guest iovec arrays as host iovecs, every buffer bounds-checked.
#pragma once

#include <sys/uio.h>

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

}  // namespace wasmshim::wasm::wasi
