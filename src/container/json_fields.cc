#include "json_fields.h"

namespace wasmshim::container::detail {
namespace {

[[noreturn]] void wrong(const std::string& what, const char* expected) {
  throw OciSpecError("config.json: " + what + " must be " + expected);
}

}  // namespace

std::vector<std::string> string_list(const json& parent, const char* key,
                                     const std::string& where) {
  std::vector<std::string> out;
  const json* value = field(parent, key);
  if (value == nullptr) {
    return out;
  }
  const std::string name = path_of(where, key);
  if (!value->is_array()) {
    wrong(name, "an array of strings");
  }
  for (const auto& item : *value) {
    if (!item.is_string()) {
      wrong(name, "an array of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string string_field(const json& parent, const char* key, const std::string& where,
                         std::string fallback) {
  const json* value = field(parent, key);
  if (value == nullptr) {
    return fallback;
  }
  if (!value->is_string()) {
    wrong(path_of(where, key), "a string");
  }
  return value->get<std::string>();
}

std::optional<std::int64_t> int_field(const json& parent, const char* key,
                                      const std::string& where) {
  const json* value = field(parent, key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_number_unsigned() && value->get<std::uint64_t>() > INT64_MAX) {
    wrong(path_of(where, key), "a 64-bit signed integer");
  }
  if (!value->is_number_integer()) {
    wrong(path_of(where, key), "an integer");
  }
  return value->get<std::int64_t>();
}

std::optional<std::uint64_t> uint_field(const json& parent, const char* key,
                                        const std::string& where) {
  const json* value = field(parent, key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (!value->is_number_unsigned()) {
    wrong(path_of(where, key), "a non-negative integer");
  }
  return value->get<std::uint64_t>();
}

bool bool_field(const json& parent, const char* key, const std::string& where, bool fallback) {
  const json* value = field(parent, key);
  if (value == nullptr) {
    return fallback;
  }
  if (!value->is_boolean()) {
    wrong(path_of(where, key), "true or false");
  }
  return value->get<bool>();
}

const json* object_field(const json& parent, const char* key, const std::string& where) {
  const json* value = field(parent, key);
  if (value != nullptr && !value->is_object()) {
    wrong(path_of(where, key), "an object");
  }
  return value;
}

const json* array_field(const json& parent, const char* key, const std::string& where) {
  const json* value = field(parent, key);
  if (value != nullptr && !value->is_array()) {
    wrong(path_of(where, key), "an array");
  }
  return value;
}

}  // namespace wasmshim::container::detail
