// SHA-256 for module digests and cache keys, as lowercase hex.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

struct SHA256state_st;  // OpenSSL's SHA256_CTX

namespace wasmshim::wasm {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(const void* data, std::size_t size);
  // The digest of everything given so far; call once.
  std::string hex();

 private:
  std::unique_ptr<SHA256state_st> state_;
};

}  // namespace wasmshim::wasm
