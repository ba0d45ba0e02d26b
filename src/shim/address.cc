#include "address.h"

#include <openssl/sha.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace wasmshim::shim {

std::string shim_socket_address(const std::string& containerd_address,
                                const std::string& namespace_name, const std::string& group) {
  // filepath.Join cleans the path: one slash between parts, none doubled.
  std::string joined = containerd_address + "/" + namespace_name + "/" + group;
  std::string cleaned;
  for (char c : joined) {
    if (c == '/' && !cleaned.empty() && cleaned.back() == '/') {
      continue;
    }
    cleaned += c;
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(cleaned.data()), cleaned.size(), digest);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : digest) {
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 0xf];
  }
  return "unix:///run/containerd/s/" + hex;
}

std::string grouping_id(const std::string& bundle, const std::string& id) {
  std::ifstream in(bundle + "/config.json");
  auto config = nlohmann::json::parse(in, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    return id;
  }
  auto annotations = config.value("annotations", nlohmann::json::object());
  if (!annotations.is_object()) {
    return id;
  }
  for (const char* key : {"io.containerd.wasmshim.group", "io.kubernetes.cri.sandbox-id"}) {
    auto it = annotations.find(key);
    if (it != annotations.end() && it->is_string() && !it->get<std::string>().empty()) {
      return it->get<std::string>();
    }
  }
  return id;
}

}  // namespace wasmshim::shim
