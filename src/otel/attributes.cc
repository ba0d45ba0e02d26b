#include "wasmshim/otel/attributes.h"

#include <algorithm>
#include <sstream>

namespace wasmshim::otel {
namespace {

template <class T>
void print_scalar(std::ostringstream& out, const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    out << (value ? "true" : "false");
  } else {
    out << value;
  }
}

// Cuts at `limit` bytes without splitting a UTF-8 sequence.
void truncate_utf8(std::string& s, std::size_t limit) {
  if (limit == 0 || s.size() <= limit) {
    return;
  }
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  s.resize(cut);
}

}  // namespace

std::string to_string(const AttributeValue& value) {
  std::ostringstream out;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          out << v;
        } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                             std::is_same_v<T, double>) {
          print_scalar(out, v);
        } else {
          out << '[';
          for (std::size_t i = 0; i < v.size(); ++i) {
            if (i > 0) {
              out << ", ";
            }
            print_scalar(out, static_cast<typename T::value_type>(v[i]));
          }
          out << ']';
        }
      },
      value);
  return out.str();
}

const AttributeValue* find_attribute(const Attributes& attributes, std::string_view key) {
  auto it = std::find_if(attributes.begin(), attributes.end(),
                         [&](const Attribute& a) { return a.key == key; });
  return it == attributes.end() ? nullptr : &it->value;
}

bool put_attribute(Attributes& attributes, std::string_view key, AttributeValue value,
                   std::size_t count_limit, std::size_t length_limit) {
  if (length_limit != 0) {
    if (auto* s = std::get_if<std::string>(&value)) {
      truncate_utf8(*s, length_limit);
    } else if (auto* list = std::get_if<std::vector<std::string>>(&value)) {
      for (auto& item : *list) {
        truncate_utf8(item, length_limit);
      }
    }
  }
  for (auto& attribute : attributes) {
    if (attribute.key == key) {
      attribute.value = std::move(value);
      return true;
    }
  }
  if (attributes.size() >= count_limit) {
    return false;
  }
  attributes.push_back({std::string(key), std::move(value)});
  return true;
}

}  // namespace wasmshim::otel
