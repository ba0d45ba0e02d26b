// The parts of an OCI runtime spec (a bundle's config.json) the container
// layer uses. Parsing is strict where a mistake would run the wrong thing
// and names the field at fault.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wasmshim::container {

class OciSpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OciProcess {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  bool terminal = false;
};

struct OciSpec {
  OciProcess process;
  // Absolute host path of the root filesystem (root.path, relative to the
  // bundle unless absolute).
  std::string root_path;
  bool root_readonly = false;
  std::string hostname;
  std::map<std::string, std::string> annotations;
};

// `bundle` resolves a relative root.path. Throws OciSpecError.
OciSpec parse_oci_spec(std::string_view text, const std::string& bundle);
// Reads <bundle>/config.json. Throws OciSpecError.
OciSpec load_oci_spec(const std::string& bundle);

}  // namespace wasmshim::container
