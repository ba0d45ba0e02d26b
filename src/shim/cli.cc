#include "cli.h"

#include <stdexcept>

namespace wasmshim::shim {

ShimFlags parse_flags(const std::vector<std::string>& args) {
  ShimFlags flags;
  struct StringFlag {
    const char* name;
    std::string ShimFlags::*field;
  };
  static const StringFlag kStrings[] = {{"namespace", &ShimFlags::namespace_name},
                                        {"id", &ShimFlags::id},
                                        {"address", &ShimFlags::address},
                                        {"publish-binary", &ShimFlags::publish_binary},
                                        {"bundle", &ShimFlags::bundle}};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.empty() || arg[0] != '-' || arg == "-") {
      if (!flags.action.empty()) {
        throw std::invalid_argument("unexpected argument '" + arg + "' after '" + flags.action +
                                    "'");
      }
      flags.action = arg;
      continue;
    }
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "debug" || name == "v") {
      bool on = !has_value || value == "true" || value == "1";
      (name == "debug" ? flags.debug : flags.version) = on;
      continue;
    }
    bool known = false;
    for (const auto& flag : kStrings) {
      if (name != flag.name) {
        continue;
      }
      known = true;
      if (!has_value) {
        if (i + 1 >= args.size()) {
          throw std::invalid_argument("flag -" + name + " needs a value");
        }
        value = args[++i];
      }
      flags.*flag.field = value;
    }
    if (!known) {
      throw std::invalid_argument("unknown flag " + arg);
    }
  }
  return flags;
}

std::vector<std::string> to_args(const ShimFlags& flags) {
  std::vector<std::string> args{"-namespace",      flags.namespace_name, "-id",
                                flags.id,          "-address",           flags.address,
                                "-publish-binary", flags.publish_binary};
  if (!flags.bundle.empty()) {
    args.insert(args.end(), {"-bundle", flags.bundle});
  }
  if (flags.debug) {
    args.emplace_back("-debug");
  }
  if (!flags.action.empty()) {
    args.push_back(flags.action);
  }
  return args;
}

}  // namespace wasmshim::shim
