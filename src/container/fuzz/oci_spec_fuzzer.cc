// libFuzzer: config.json as containerd (or anyone who can write a bundle)
// hands it over. Parsing never crashes and refuses what it cannot use with
// an OciSpecError that names config.json; anything else thrown, or a
// message without the name, is a finding. The same bytes go to the parser
// of an exec's process object, which names "process".
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wasmshim/container/oci_spec.h"

using wasmshim::container::OciSpecError;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto spec = wasmshim::container::parse_oci_spec(text, "/bundle");
    // A relative root.path resolves inside the bundle.
    if (!spec.root_path.empty() && spec.root_path.front() != '/') {
      std::abort();
    }
  } catch (const OciSpecError& e) {
    if (std::string_view(e.what()).find("config.json") == std::string_view::npos) {
      std::abort();
    }
  }
  try {
    (void)wasmshim::container::parse_oci_process(text);
  } catch (const OciSpecError& e) {
    if (std::string_view(e.what()).find("process") == std::string_view::npos) {
      std::abort();
    }
  }
  return 0;
}
