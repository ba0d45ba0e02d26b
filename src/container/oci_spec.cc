#include "wasmshim/container/oci_spec.h"

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace wasmshim::container {
namespace {

using nlohmann::json;

std::vector<std::string> string_list(const json& parent, const char* key, const char* where) {
  std::vector<std::string> out;
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) {
    return out;
  }
  if (!it->is_array()) {
    throw OciSpecError(std::string("config.json: ") + where + " must be an array of strings");
  }
  for (const auto& item : *it) {
    if (!item.is_string()) {
      throw OciSpecError(std::string("config.json: ") + where + " must be an array of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string string_field(const json& parent, const char* key, const char* where,
                         std::string fallback = {}) {
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) {
    return fallback;
  }
  if (!it->is_string()) {
    throw OciSpecError(std::string("config.json: ") + where + " must be a string");
  }
  return it->get<std::string>();
}

}  // namespace

OciSpec parse_oci_spec(std::string_view text, const std::string& bundle) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw OciSpecError(std::string("config.json is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) {
    throw OciSpecError("config.json: expected a JSON object");
  }
  OciSpec spec;
  auto process = doc.find("process");
  if (process == doc.end() || !process->is_object()) {
    throw OciSpecError("config.json: process is missing");
  }
  spec.process.args = string_list(*process, "args", "process.args");
  if (spec.process.args.empty() || spec.process.args[0].empty()) {
    throw OciSpecError("config.json: process.args is empty: its first entry must name the module");
  }
  spec.process.env = string_list(*process, "env", "process.env");
  spec.process.cwd = string_field(*process, "cwd", "process.cwd", "/");
  if (auto terminal = process->find("terminal"); terminal != process->end()) {
    if (!terminal->is_boolean()) {
      throw OciSpecError("config.json: process.terminal must be true or false");
    }
    spec.process.terminal = terminal->get<bool>();
  }
  auto root = doc.find("root");
  std::string root_path = "rootfs";
  if (root != doc.end() && root->is_object()) {
    root_path = string_field(*root, "path", "root.path", "rootfs");
    if (auto readonly = root->find("readonly"); readonly != root->end() && readonly->is_boolean()) {
      spec.root_readonly = readonly->get<bool>();
    }
  }
  spec.root_path = root_path.starts_with("/") ? root_path : bundle + "/" + root_path;
  spec.hostname = string_field(doc, "hostname", "hostname");
  if (auto annotations = doc.find("annotations");
      annotations != doc.end() && annotations->is_object()) {
    for (const auto& [key, value] : annotations->items()) {
      if (value.is_string()) {
        spec.annotations[key] = value.get<std::string>();
      }
    }
  }
  return spec;
}

OciSpec load_oci_spec(const std::string& bundle) {
  std::ifstream in(bundle + "/config.json", std::ios::binary);
  if (!in) {
    throw OciSpecError("cannot read " + bundle + "/config.json");
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_oci_spec(text, bundle);
}

}  // namespace wasmshim::container
