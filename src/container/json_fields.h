// Typed reads of config.json fields that name the field when it is wrong.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "wasmshim/container/oci_spec.h"

namespace wasmshim::container::detail {

using nlohmann::json;

inline const json* field(const json& parent, const char* key) {
  auto it = parent.find(key);
  return it == parent.end() || it->is_null() ? nullptr : &*it;
}

inline std::string path_of(const std::string& where, const char* key) {
  return where.empty() ? key : where + "." + key;
}

std::vector<std::string> string_list(const json& parent, const char* key, const std::string& where);
std::string string_field(const json& parent, const char* key, const std::string& where,
                         std::string fallback = {});
std::optional<std::int64_t> int_field(const json& parent, const char* key,
                                      const std::string& where);
std::optional<std::uint64_t> uint_field(const json& parent, const char* key,
                                        const std::string& where);
bool bool_field(const json& parent, const char* key, const std::string& where, bool fallback);
// An object or absent; anything else is an error.
const json* object_field(const json& parent, const char* key, const std::string& where);
const json* array_field(const json& parent, const char* key, const std::string& where);

// The "linux" object and the Linux parts of "process".
OciLinux parse_linux(const json& linux_object);
void parse_process_linux(const json& process, OciProcess& out);
std::vector<OciMount> parse_mounts(const json& doc);

}  // namespace wasmshim::container::detail
