// SHA-256 as lowercase hex: module digests, cache keys, the shim's socket
// name, image blobs. OpenSSL's low-level functions, not EVP (see sha256.cc).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct SHA256state_st;  // OpenSSL's SHA256_CTX

namespace wasmshim::base {

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

// The digest of `data` in one call.
std::string sha256_hex(std::string_view data);

}  // namespace wasmshim::base
