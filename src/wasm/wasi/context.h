// Private: the state behind a guest's WASI calls — descriptors, preopens,
// arguments — and checked access to its linear memory.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../runtime_abi.h"
#include "errno.h"
#include "rights.h"
#include "wasmshim/wasm/wasi.h"

namespace wasmshim::wasm::wasi {

enum FileType : std::uint8_t {
  kFileTypeUnknown = 0,
  kFileTypeBlockDevice = 1,
  kFileTypeCharacterDevice = 2,
  kFileTypeDirectory = 3,
  kFileTypeRegularFile = 4,
  kFileTypeSocketDgram = 5,
  kFileTypeSocketStream = 6,
  kFileTypeSymbolicLink = 7,
};

struct Descriptor {
  int host_fd = -1;
  bool owned = true;  // closed when the guest closes it or the context ends
  FileType type = kFileTypeUnknown;
  std::optional<std::string> preopen_name;  // set for preopened directories
  Rights rights_base = 0;
  Rights rights_inheriting = 0;
  bool stdio = false;  // one of the three descriptors the host gave
};

// The rights wasmtime gives a new descriptor of this type, out of those asked
// for: directories never carry the file-only rights.
inline Rights rights_for_type(FileType type, Rights asked) {
  return type == kFileTypeDirectory ? asked & ~kNotForDirectories : asked;
}

class Context {
 public:
  // Opens the preopened directories; throws std::system_error naming one
  // that cannot be opened.
  explicit Context(const WasiConfig& config);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  void set_memory(abi::Memory* memory) { memory_ = memory; }
  const WasiConfig& config() const { return config_; }

  // Guest memory, bounds-checked: nothing when [ptr, ptr + len) is outside.
  std::uint8_t* bytes(std::uint32_t ptr, std::uint64_t len) const {
    if (memory_ == nullptr || std::uint64_t{ptr} + len > memory_->size) {
      return nullptr;
    }
    return memory_->data + ptr;
  }
  template <class T>
  bool load(std::uint32_t ptr, T& out) const {
    const std::uint8_t* p = bytes(ptr, sizeof(T));
    if (p == nullptr) {
      return false;
    }
    std::memcpy(&out, p, sizeof(T));
    return true;
  }
  template <class T>
  bool store(std::uint32_t ptr, T value) const {
    std::uint8_t* p = bytes(ptr, sizeof(T));
    if (p == nullptr) {
      return false;
    }
    std::memcpy(p, &value, sizeof(T));
    return true;
  }
  std::optional<std::string> string(std::uint32_t ptr, std::uint32_t len) const {
    const std::uint8_t* p = bytes(ptr, len);
    if (p == nullptr) {
      return std::nullopt;
    }
    return std::string(reinterpret_cast<const char*>(p), len);
  }

  Descriptor* find(std::uint32_t fd);
  // The descriptor fd when it holds every right in needed: otherwise nothing,
  // with kBadf (no such descriptor) or kNotCapable in error.
  Descriptor* find(std::uint32_t fd, Rights needed, Errno& error);
  std::uint32_t insert(Descriptor descriptor);
  Errno close(std::uint32_t fd);
  Errno renumber(std::uint32_t from, std::uint32_t to);

 private:
  WasiConfig config_;
  abi::Memory* memory_ = nullptr;
  std::map<std::uint32_t, Descriptor> descriptors_;
};

FileType file_type_of_mode(unsigned mode);

}  // namespace wasmshim::wasm::wasi
