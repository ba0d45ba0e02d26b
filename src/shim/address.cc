#include "address.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "wasmshim/base/sha256.h"

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
  return "unix:///run/containerd/s/" + base::sha256_hex(cleaned);
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
