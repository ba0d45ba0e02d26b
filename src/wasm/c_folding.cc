#include "c_folding.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

namespace wasmshim::wasm {
namespace {

// A folded line stays below this, so that no expression grows without bound.
constexpr std::size_t kMaxLine = 800;

bool is_ident_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '_';
}

// The identifier starting at `pos` (empty if none).
std::string_view identifier_at(std::string_view text, std::size_t pos) {
  std::size_t end = pos;
  while (end < text.size() && is_ident_char(text[end])) {
    ++end;
  }
  return text.substr(pos, end - pos);
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char ch) {
    return std::isdigit(static_cast<unsigned char>(ch)) != 0;
  });
}

// w2c_i0 (u32), w2c_j0 (u64), w2c_f0 (f32), w2c_d0 (f64): wasm2c's stack,
// also with a suffix wasm2c adds to keep names apart (w2c_d1_0).
bool is_temporary(std::string_view name) {
  if (name.size() < 6 || name.substr(0, 4) != "w2c_") {
    return false;
  }
  const char kind = name[4];
  if (kind != 'i' && kind != 'j' && kind != 'f' && kind != 'd') {
    return false;
  }
  std::string_view number = name.substr(5);
  const std::size_t underscore = number.find('_');
  if (underscore != std::string_view::npos) {
    if (!all_digits(number.substr(underscore + 1))) {
      return false;
    }
    number = number.substr(0, underscore);
  }
  return all_digits(number);
}

// Also locals and parameters (w2c_l3, w2c_p0).
bool is_variable(std::string_view name) {
  return is_temporary(name) || (name.size() >= 6 && name.substr(0, 4) == "w2c_" &&
                                (name[4] == 'l' || name[4] == 'p') && all_digits(name.substr(5)));
}

const char* c_type(char kind) {
  switch (kind) {
    case 'i':
      return "u32";
    case 'j':
      return "u64";
    case 'f':
      return "f32";
    default:
      return "f64";
  }
}

// Names an expression may use and stay free of side effects and traps:
// wasm2c's casts, rotations (pure, though they evaluate an argument twice)
// and bit reinterpretations, and constant macros.
bool is_pure_name(std::string_view name, bool called) {
  static constexpr std::array<std::string_view, 10> kTypes = {"u8",  "s8",  "u16", "s16", "u32",
                                                              "s32", "u64", "s64", "f32", "f64"};
  static constexpr std::array<std::string_view, 8> kFunctions = {"I32_ROTL",
                                                                 "I32_ROTR",
                                                                 "I64_ROTL",
                                                                 "I64_ROTR",
                                                                 "f32_reinterpret_i32",
                                                                 "i32_reinterpret_f32",
                                                                 "f64_reinterpret_i64",
                                                                 "i64_reinterpret_f64"};
  if (called) {
    for (std::string_view f : kFunctions) {
      if (name == f) {
        return true;
      }
    }
    return false;
  }
  if (is_variable(name) || std::isdigit(static_cast<unsigned char>(name[0])) != 0) {
    return true;  // a variable or a number (with its suffix)
  }
  for (std::string_view t : kTypes) {
    if (name == t) {
      return true;
    }
  }
  return name == "NAN" || name == "INFINITY";
}

bool is_load(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kLoads = {
      "i32_load",     "i64_load",     "f32_load",     "f64_load",    "i32_load8_s",
      "i32_load8_u",  "i32_load16_s", "i32_load16_u", "i64_load8_s", "i64_load8_u",
      "i64_load16_s", "i64_load16_u", "i64_load32_s", "i64_load32_u"};
  return std::find(kLoads.begin(), kLoads.end(), name) != kLoads.end();
}

// Whether `expr` may move into the statement after its own: no side effect,
// and no trap but a load's (which then happens within that statement, before
// its store or call).
bool is_movable(std::string_view expr) {
  constexpr std::string_view kMemory = "(&instance->w2c_";
  for (std::size_t i = 0; i < expr.size();) {
    const char ch = expr[i];
    if (is_ident_char(ch)) {
      std::string_view name = identifier_at(expr, i);
      std::size_t next = i + name.size();
      // A number may carry a fraction or exponent: 1.5e+10
      while (std::isdigit(static_cast<unsigned char>(name[0])) != 0 && next < expr.size() &&
             (expr[next] == '.' || ((expr[next] == '+' || expr[next] == '-') &&
                                    (expr[next - 1] == 'e' || expr[next - 1] == 'E')))) {
        ++next;
        next += identifier_at(expr, next).size();
      }
      std::size_t after = next;
      while (after < expr.size() && expr[after] == ' ') {
        ++after;
      }
      const bool called = after < expr.size() && expr[after] == '(';
      if (called && is_load(name) && expr.substr(after).starts_with(kMemory)) {
        // i32_load(&instance->w2c_memory, address): skip to the address
        const std::size_t memory = after + kMemory.size();
        i = memory + identifier_at(expr, memory).size();
        continue;
      }
      if (!is_pure_name(name, called)) {
        return false;
      }
      i = next;
    } else if (std::string_view(" +-*/&|^~!<>=?:().,").find(ch) != std::string_view::npos) {
      if (ch == '=' && (i + 1 >= expr.size() || expr[i + 1] != '=') &&
          (i == 0 || std::string_view("=!<>").find(expr[i - 1]) == std::string_view::npos)) {
        return false;  // an assignment
      }
      ++i;
    } else {
      return false;  // '[', '%', ';', quotes ...
    }
  }
  return true;
}

// How often `name` occurs as a whole identifier in `text`, and where last.
struct Uses {
  std::size_t count = 0;
  std::size_t last = 0;
};

Uses occurrences(std::string_view text, std::string_view name) {
  Uses uses;
  for (std::size_t pos = text.find(name); pos != std::string_view::npos;
       pos = text.find(name, pos + 1)) {
    const bool starts = pos == 0 || !is_ident_char(text[pos - 1]);
    const bool ends = pos + name.size() >= text.size() || !is_ident_char(text[pos + name.size()]);
    if (starts && ends) {
      ++uses.count;
      uses.last = pos;
    }
  }
  return uses;
}

bool calls_a_macro(std::string_view text) {
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (std::isupper(static_cast<unsigned char>(text[i])) != 0 &&
        (i == 0 || !is_ident_char(text[i - 1]))) {
      std::string_view name = identifier_at(text, i);
      std::size_t after = i + name.size();
      if (after < text.size() && text[after] == '(' && name != "NAN" && name != "INFINITY") {
        return true;
      }
    }
  }
  return false;
}

// `indent name = value;` with a temporary as name.
struct Definition {
  std::string_view indent;
  std::string_view name;
  std::string_view value;
};

std::optional<Definition> definition(std::string_view line) {
  const std::size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos || line.back() != ';') {
    return std::nullopt;
  }
  std::string_view name = identifier_at(line, start);
  if (!is_temporary(name)) {
    return std::nullopt;
  }
  std::string_view rest = line.substr(start + name.size());
  if (rest.substr(0, 3) != " = ") {
    return std::nullopt;
  }
  std::string_view value = rest.substr(3, rest.size() - 4);
  if (value.find(';') != std::string_view::npos) {
    return std::nullopt;
  }
  return Definition{line.substr(0, start), name, value};
}

// A value that can stand where the temporary stood without a cast: a
// variable (of the temporary's type, as wasm typing guarantees) or an
// integer literal of exactly its C type. Anything else gets a cast.
std::string operand(const Definition& def) {
  const std::string_view v = def.value;
  const bool literal =
      std::isdigit(static_cast<unsigned char>(v[0])) != 0 && identifier_at(v, 0).size() == v.size();
  const bool u32_literal = def.name[4] == 'i' && literal && v.ends_with("u") &&
                           !v.ends_with("lu") && !v.ends_with("llu");
  const bool u64_literal = def.name[4] == 'j' && literal && v.ends_with("ull");
  if (is_variable(v) || u32_literal || u64_literal) {
    return std::string(v);
  }
  return "((" + std::string(c_type(def.name[4])) + ")(" + std::string(v) + "))";
}

bool is_plain(const std::string& value, const Definition& def) {
  return value.size() == def.value.size();
}

// Whether `line` sets `name` without reading it.
bool redefines(std::string_view line, std::string_view name) {
  const std::size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    return false;
  }
  const std::string_view body = line.substr(start);
  return identifier_at(body, 0) == name && body.substr(name.size()).starts_with(" = ") &&
         body.back() == ';' && occurrences(body, name).count == 1;
}

// The line that replaces `def` followed by `next` (`source_after` is the source
// after `next`, as written), or nothing.
std::optional<std::string> fold(const Definition& def, std::string_view next,
                                std::string_view source_after) {
  const std::size_t start = next.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view body = next.substr(start);
  const std::string value = operand(def);
  const Uses uses = occurrences(next, def.name);
  const std::string_view first = identifier_at(body, 0);
  const bool assigns_it = first == def.name;
  if (assigns_it) {
    const std::string_view rest = body.substr(first.size());
    const std::size_t op_end = rest.find("= ");
    if (rest.empty() || rest[0] != ' ' || op_end > 3) {  // also when there is no '='
      return std::nullopt;
    }
    const std::string_view op = rest.substr(1, op_end - 1);  // "" for plain =, else "+", "<<"...
    static constexpr std::array<std::string_view, 10> kOperators = {"",  "+", "-", "*",  "/",
                                                                    "&", "|", "^", "<<", ">>"};
    if (std::find(kOperators.begin(), kOperators.end(), op) == kOperators.end()) {
      return std::nullopt;
    }
    const std::string_view rhs = rest.substr(op_end + 2, rest.size() - op_end - 3);
    if (!next.ends_with(";") || rhs.find(';') != std::string_view::npos) {
      return std::nullopt;
    }
    if (!op.empty()) {  // t = a; t op= e;  ->  t = (a) op (e);
      if (uses.count != 1) {
        return std::nullopt;
      }
      return std::string(def.indent) + std::string(def.name) + " = " + value + " " +
             std::string(op) + " (" + std::string(rhs) + ");";
    }
    if (uses.count == 1) {  // t = a; t = e;  (e does not read t): a was dead
      return std::string(next);
    }
    if (uses.count != 2 || (!is_plain(value, def) && calls_a_macro(rhs))) {
      return std::nullopt;
    }
  } else {
    if (uses.count != 1) {
      return std::nullopt;
    }
    // `x = t;` may be local.tee, which leaves t on the stack: folded only
    // when the line after it sets t anew.
    const std::size_t eq = body.find(" = ");
    const std::string_view copied = eq == std::string_view::npos ? "" : body.substr(eq + 3);
    if (copied.size() == def.name.size() + 1 && copied.starts_with(def.name) &&
        copied.back() == ';' &&
        !redefines(source_after.substr(0, source_after.find('\n')), def.name)) {
      return std::nullopt;
    }
    const std::size_t brace = next.find('{');
    if (brace != std::string_view::npos && uses.last > brace) {
      return std::nullopt;  // inside a branch: the value may be needed after it
    }
    if (!is_plain(value, def) && calls_a_macro(next)) {
      return std::nullopt;
    }
  }
  // A load must happen, and select (`c ? a : b`) evaluates one side only.
  if (value.find("_load") != std::string::npos && next.find('?') != std::string_view::npos) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(next.size() + value.size());
  out += next.substr(0, uses.last);
  out += value;
  out += next.substr(uses.last + def.name.size());
  if (out.size() > kMaxLine) {
    return std::nullopt;
  }
  return out;
}

// A cheap first look: `  w2c_<kind>N = ...;`.
bool may_define(std::string_view line) {
  const std::size_t start = line.find_first_not_of(' ');
  return start != std::string_view::npos && line.size() > start + 5 && line.back() == ';' &&
         line.compare(start, 4, "w2c_") == 0;
}

bool is_label(std::string_view line) {
  const std::size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    return true;
  }
  std::string_view body = line.substr(start);
  if (body.starts_with("case ") || body.starts_with("default:")) {
    return true;
  }
  std::string_view name = identifier_at(body, 0);
  return !name.empty() && body.size() > name.size() && body[name.size()] == ':';
}

}  // namespace

namespace {

// Folds one run of whole lines; a fold never spans two functions.
// Whether what a line assigns to a temporary may move: the value of
// `t = v;`, or `e` of `t op= e;` (which folding turns into `t = (a) op (e);`).
// False for other lines.
bool movable_value(std::string_view line) {
  if (std::optional<Definition> def = definition(line)) {
    return is_movable(def->value);
  }
  const std::size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos || line.back() != ';' ||
      !is_temporary(identifier_at(line, start))) {
    return false;
  }
  const std::size_t assign = line.find("= ", start);
  return assign != std::string_view::npos && assign > start && line[assign - 1] != ' ' &&
         line[assign - 1] != '=' && line[assign - 1] != '!' &&
         is_movable(line.substr(assign + 2, line.size() - assign - 3));
}

std::string fold_lines(std::string_view source) {
  // Lines are views into the source, or into `folded` once rewritten; most
  // (data segments, declarations) are passed over after a glance. Each
  // line's `movable` is judged on the line as written: folding a movable
  // value into a line leaves the line's own verdict as it was, so a long
  // folded expression is never scanned again.
  struct Line {
    std::string_view text;
    std::optional<bool> movable;
  };
  std::vector<Line> lines;
  std::deque<std::string> folded;
  for (std::size_t pos = 0; pos < source.size();) {
    std::size_t end = source.find('\n', pos);
    if (end == std::string_view::npos) {
      end = source.size();
    }
    Line line{source.substr(pos, end - pos), std::nullopt};
    pos = end + 1;
    while (!lines.empty() && may_define(lines.back().text) && !is_label(line.text)) {
      Line& previous = lines.back();
      if (!previous.movable) {
        previous.movable = movable_value(previous.text);
      }
      std::optional<Definition> def = definition(previous.text);
      if (!*previous.movable || !def) {
        break;
      }
      if (!line.movable) {
        line.movable = movable_value(line.text);
      }
      std::optional<std::string> result = fold(*def, line.text, source.substr(pos));
      if (!result) {
        break;
      }
      lines.pop_back();
      folded.push_back(std::move(*result));
      line.text = folded.back();
    }
    lines.push_back(line);
  }
  std::string out;
  out.reserve(source.size());
  for (const Line& line : lines) {
    out += line.text;
    out += '\n';
  }
  return out;
}

}  // namespace

std::string fold_stack_temporaries(const std::string& c_source) {
  // A big module (SQLite: 14 MB of C) is folded in parts on all cores; it
  // is on the path of a cold jit start.
  constexpr std::size_t kPartSize = std::size_t{4} << 20;
  const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
  const std::size_t parts = std::min(cores, std::max<std::size_t>(1, c_source.size() / kPartSize));
  const std::string_view source(c_source);
  std::vector<std::string_view> pieces;
  for (std::size_t begin = 0, k = 0; begin < source.size(); ++k) {
    // Parts end after a function (a "}" line at column 0).
    std::size_t end = k + 1 == parts ? source.size() : begin + source.size() / parts;
    end = end >= source.size() ? source.size() : source.find("\n}\n", end);
    end = end == std::string_view::npos ? source.size() : end + 3;
    pieces.push_back(source.substr(begin, end - begin));
    begin = end;
  }
  std::vector<std::string> results(pieces.size());
  std::vector<std::thread> workers;
  for (std::size_t k = 1; k < pieces.size(); ++k) {
    workers.emplace_back([&results, &pieces, k] { results[k] = fold_lines(pieces[k]); });
  }
  if (!pieces.empty()) {
    results[0] = fold_lines(pieces[0]);
  }
  for (std::thread& worker : workers) {
    worker.join();
  }
  std::string out;
  for (const std::string& result : results) {
    out += result;
  }
  return out;
}

}  // namespace wasmshim::wasm
