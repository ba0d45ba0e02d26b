#include "c_partition.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace wasmshim::wasm {
namespace {

constexpr std::string_view kStatic = "static ";
constexpr std::string_view kPartsPrefix = "/* wasmshim translation: ";
constexpr std::string_view kPartsSuffix = " parts */";

// A top-level piece of wasm2c's C, by where the parts need it.
struct Item {
  enum class Kind {
    kShared,    // every part, as it is
    kFunction,  // one part: a function definition
    kVariable,  // defined in part 0, declared extern in the others
    kPartZero,  // part 0 only
  };
  Kind kind;
  std::string text;         // whole lines, each ending in '\n'
  std::string declaration;  // kVariable: its declarator, e.g. "u32 func_types[63]"
  std::size_t part = 0;     // kFunction: its part
};

class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool done() const { return pos_ >= text_.size(); }
  std::string_view next() {
    std::size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) {
      end = text_.size();
    }
    const std::string_view line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return line;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

bool ends_statement(std::string_view line) {
  return line.ends_with(';') || line.ends_with('{');
}

// A `static` declaration whose parameters wasm2c wrapped onto more lines,
// joined into one.
std::string logical_line(std::string_view first, LineReader& reader) {
  std::string line(first);
  if (!line.starts_with(kStatic) || line.find('(') == std::string::npos) {
    return line;
  }
  while (!ends_statement(line) && !reader.done()) {
    std::string_view more = reader.next();
    more.remove_prefix(std::min(more.find_first_not_of(' '), more.size()));
    line += ' ';
    line += more;
  }
  return line;
}

// Whether `line` declares or defines a translated wasm function
// ("static u32 w2c_f12(...").
bool names_wasm_function(std::string_view line) {
  const std::size_t open = line.find('(');
  if (open == std::string_view::npos) {
    return false;
  }
  const std::string_view head = line.substr(0, open);
  const std::size_t name_start = head.find_last_of(" *") + 1;
  return head.substr(name_start).starts_with("w2c_");
}

// A file-scope variable: `static T name...;` or `static T name[] = {` (an
// initializer over more lines), with no parameter list before its `=`.
bool is_variable(std::string_view line) {
  const std::string_view declarator = line.substr(0, line.find('='));
  return declarator.find('(') == std::string_view::npos &&
         (line.ends_with(';') || line.ends_with("= {"));
}

std::string_view declarator_of(std::string_view line) {
  line.remove_prefix(kStatic.size());
  const std::size_t equals = line.find(" =");
  line = line.substr(0, equals == std::string_view::npos ? line.find(';') : equals);
  return line;
}

// The lines up to and including the one equal to `last`.
void append_block(std::string& text, LineReader& reader, std::string_view last) {
  while (!reader.done()) {
    const std::string_view line = reader.next();
    text += line;
    text += '\n';
    if (line == last) {
      return;
    }
  }
}

std::vector<Item> read_items(std::string_view source) {
  std::vector<Item> items;
  LineReader reader(source);
  bool after_prototypes = false;  // past wasm2c's first function prototype
  while (!reader.done()) {
    const std::string line = logical_line(reader.next(), reader);
    const bool is_static = line.starts_with(kStatic);
    const std::string linkage_free = is_static ? line.substr(kStatic.size()) : line;
    if (is_static && names_wasm_function(line) && line.ends_with('{')) {
      Item item{Item::Kind::kFunction, "WASMSHIM_FN " + linkage_free + "\n", "", 0};
      append_block(item.text, reader, "}");
      items.push_back(std::move(item));
    } else if (is_static && names_wasm_function(line) && line.ends_with(';')) {
      after_prototypes = true;
      items.push_back({Item::Kind::kShared, "WASMSHIM_FN " + linkage_free + "\n", "", 0});
    } else if (is_static && is_variable(line)) {
      Item item{Item::Kind::kVariable, "WASMSHIM_VAR " + linkage_free + "\n",
                std::string(declarator_of(line)), 0};
      if (line.ends_with('{')) {
        append_block(item.text, reader, "};");
      }
      items.push_back(std::move(item));
    } else if (line.starts_with('#') || !after_prototypes) {
      items.push_back({Item::Kind::kShared, line + "\n", "", 0});
    } else {
      items.push_back({Item::Kind::kPartZero, line + "\n", "", 0});
    }
  }
  return items;
}

// Parts by size, in order: a function goes to the part its middle falls in,
// and parts left empty are dropped, so there are no more parts than
// functions.
std::size_t assign_parts(std::vector<Item>& items, std::size_t bytes_per_part) {
  std::size_t total = 0;
  std::size_t functions = 0;
  for (const Item& item : items) {
    if (item.kind == Item::Kind::kFunction) {
      total += item.text.size();
      ++functions;
    }
  }
  if (functions == 0) {
    return 1;
  }
  const std::size_t wanted = std::clamp<std::size_t>(
      (total + bytes_per_part / 2) / std::max<std::size_t>(1, bytes_per_part), 1, functions);
  std::size_t before = 0;
  std::size_t used = 0;
  std::size_t last = 0;
  for (Item& item : items) {
    if (item.kind != Item::Kind::kFunction) {
      continue;
    }
    const std::size_t middle = before + item.text.size() / 2;
    const std::size_t part = std::min(wanted - 1, middle * wanted / total);
    if (used == 0 || part != last) {
      ++used;
      last = part;
    }
    item.part = used - 1;
    before += item.text.size();
  }
  return used;
}

class PartWriter {
 public:
  void shared(const std::string& text) {
    close();
    out_ += text;
  }
  void in_part(std::size_t part, const std::string& text) {
    if (open_ != part) {
      close();
      out_ += "#if WASMSHIM_IN_PART(" + std::to_string(part) + ")\n";
      open_ = part;
    }
    out_ += text;
  }
  void variable(const Item& item) {
    close();
    out_ += "#if WASMSHIM_IN_PART(0)\n" + item.text + "#else\nextern WASMSHIM_VAR " +
            item.declaration + ";\n#endif\n";
  }
  std::string finish() {
    close();
    return std::move(out_);
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  void close() {
    if (open_ != kNone) {
      out_ += "#endif\n";
      open_ = kNone;
    }
  }
  std::string out_;
  std::size_t open_ = kNone;
};

}  // namespace

PartitionedSource partition_functions(std::string_view source, std::size_t bytes_per_part) {
  std::vector<Item> items = read_items(source);
  PartitionedSource result;
  result.parts = assign_parts(items, bytes_per_part);
  PartWriter writer;
  for (const Item& item : items) {
    switch (item.kind) {
      case Item::Kind::kShared:
        writer.shared(item.text);
        break;
      case Item::Kind::kFunction:
        writer.in_part(item.part, item.text);
        break;
      case Item::Kind::kVariable:
        writer.variable(item);
        break;
      case Item::Kind::kPartZero:
        writer.in_part(0, item.text);
        break;
    }
  }
  result.text = writer.finish();
  return result;
}

std::string parts_line(std::size_t parts) {
  return std::string(kPartsPrefix) + std::to_string(parts) + std::string(kPartsSuffix) + "\n";
}

std::size_t parts_of_translation(std::string_view head) {
  std::size_t line = 0;
  while (!head.substr(line).starts_with(kPartsPrefix)) {
    line = head.find('\n', line);
    if (line == std::string_view::npos) {
      return 1;
    }
    ++line;
  }
  head.remove_prefix(line + kPartsPrefix.size());
  std::size_t parts = 0;
  const auto [end, error] = std::from_chars(head.data(), head.data() + head.size(), parts);
  head.remove_prefix(static_cast<std::size_t>(end - head.data()));
  return error == std::errc() && parts > 0 && head.starts_with(kPartsSuffix) ? parts : 1;
}

}  // namespace wasmshim::wasm
