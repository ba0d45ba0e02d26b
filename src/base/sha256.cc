// OpenSSL's low-level SHA-256 rather than EVP: OpenSSL 3 routes EVP through
// its providers, whose set-up cost 1.6 ms of CPU on a process's first
// digest (against 0.25 ms for the digest of a 230 KB module), and every
// container process, shim daemon and `shim start` takes one. The functions are marked
// deprecated in 3.0, not removed.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "wasmshim/base/sha256.h"

#include <openssl/sha.h>

namespace wasmshim::base {

Sha256::Sha256() : state_(std::make_unique<SHA256_CTX>()) {
  SHA256_Init(state_.get());
}

Sha256::~Sha256() = default;

Sha256& Sha256::update(const void* data, std::size_t size) {
  SHA256_Update(state_.get(), data, size);
  return *this;
}

std::string Sha256::hex() {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, state_.get());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : digest) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  return Sha256().update(data.data(), data.size()).hex();
}

}  // namespace wasmshim::base
