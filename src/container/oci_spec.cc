#include "wasmshim/container/oci_spec.h"

#include <sched.h>

#include <fstream>
#include <iterator>

#include "json_fields.h"

namespace wasmshim::container {

using detail::json;

namespace {

// `source` names the document in messages ("config.json").
OciProcess parse_process(const json& object, const std::string& source) {
  OciProcess process;
  process.args = detail::string_list(object, "args", "process");
  if (process.args.empty() || process.args[0].empty()) {
    throw OciSpecError(source +
                       ": process.args is empty: its first entry must name the program to run");
  }
  process.env = detail::string_list(object, "env", "process");
  process.cwd = detail::string_field(object, "cwd", "process", "/");
  process.terminal = detail::bool_field(object, "terminal", "process", false);
  detail::parse_process_linux(object, process);
  return process;
}

}  // namespace

OciSpec parse_oci_spec(std::string_view text, const std::string& bundle) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number
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
  spec.process = parse_process(*process, "config.json");
  std::string root_path = "rootfs";
  if (const json* root = detail::object_field(doc, "root", "")) {
    root_path = detail::string_field(*root, "path", "root", "rootfs");
    spec.root_readonly = detail::bool_field(*root, "readonly", "root", false);
  }
  spec.root_path = root_path.starts_with("/") ? root_path : bundle + "/" + root_path;
  spec.hostname = detail::string_field(doc, "hostname", "");
  if (const json* annotations = detail::field(doc, "annotations");
      annotations != nullptr && annotations->is_object()) {
    for (const auto& [key, value] : annotations->items()) {
      if (value.is_string()) {
        spec.annotations[key] = value.get<std::string>();
      }
    }
  }
  spec.mounts = detail::parse_mounts(doc);
  if (const json* linux_object = detail::object_field(doc, "linux", "")) {
    spec.linux = detail::parse_linux(*linux_object);
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

OciProcess parse_oci_process(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number
    throw OciSpecError(std::string("the exec process spec is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) {
    throw OciSpecError("the exec process spec: expected a JSON object");
  }
  return parse_process(doc, "the exec process spec");
}

const std::array<NamespaceType, 7>& namespace_types() {
  static constexpr std::array<NamespaceType, 7> kTypes{{
      {CLONE_NEWPID, "pid", "pid"},
      {CLONE_NEWNET, "network", "net"},
      {CLONE_NEWNS, "mount", "mnt"},
      {CLONE_NEWIPC, "ipc", "ipc"},
      {CLONE_NEWUTS, "uts", "uts"},
      {CLONE_NEWUSER, "user", "user"},
      {CLONE_NEWCGROUP, "cgroup", "cgroup"},
  }};
  return kTypes;
}

const OciNamespace* find_namespace(const OciSpec& spec, std::string_view type) {
  if (!spec.linux) {
    return nullptr;
  }
  for (const auto& ns : spec.linux->namespaces) {
    if (ns.type == type) {
      return &ns;
    }
  }
  return nullptr;
}

}  // namespace wasmshim::container
