// The shim binary's command line, as containerd gives it (Go flag syntax:
// -name value, -name=value, --name; booleans alone).
#pragma once

#include <string>
#include <vector>

namespace wasmshim::shim {

struct ShimFlags {
  std::string namespace_name;
  std::string id;
  // containerd's gRPC address (the shim's socket name derives from it).
  std::string address;
  std::string publish_binary;
  std::string bundle;
  bool debug = false;
  bool version = false;
  // "start", "delete", "serve" (the daemon; internal), or empty.
  std::string action;
};

// Throws std::invalid_argument naming the flag that is wrong.
ShimFlags parse_flags(const std::vector<std::string>& args);

// The flags again, for the daemon `start` spawns.
std::vector<std::string> to_args(const ShimFlags& flags);

}  // namespace wasmshim::shim
