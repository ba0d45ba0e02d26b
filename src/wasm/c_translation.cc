#include "c_translation.h"

#include <wabt/c-writer.h>
#include <wabt/stream.h>

#include <cstdio>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "c_folding.h"
#include "c_partition.h"
#include "module_parsed.h"
#include "runtime_abi.h"
#include "simd_lowering.h"

namespace wasmshim::wasm {
namespace {

constexpr const char* kModuleName = "m";

std::string stream_text(wabt::MemoryStream& stream) {
  const auto& data = stream.output_buffer().data;
  return {data.begin(), data.end()};
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}

// A prototype wasm2c declared in the header, e.g.
//   u32 Z_wasi_snapshot_preview1Z_fd_write(struct Z_wasi_snapshot_preview1_instance_t*, u32, u32);
struct Prototype {
  std::string result;  // "u32", "void", "wasm_rt_memory_t*"
  std::string name;
  std::vector<std::string> params;
};

Prototype parse_prototype(const std::string& line) {
  Prototype proto;
  auto open = line.find('(');
  auto close = line.rfind(')');
  std::string head = line.substr(0, open);
  auto space = head.find_last_of(" *");
  proto.result = head.substr(0, space + 1);
  while (!proto.result.empty() && proto.result.back() == ' ') {
    proto.result.pop_back();
  }
  proto.name = head.substr(space + 1);
  std::string params = line.substr(open + 1, close - open - 1);
  std::istringstream in(params);
  for (std::string param; std::getline(in, param, ',');) {
    auto first = param.find_first_not_of(' ');
    if (first != std::string::npos && param.substr(first) != "void") {
      proto.params.push_back(param.substr(first));
    }
  }
  return proto;
}

// ("wasi_snapshot_preview1", "fd_write") from "/* import: '...' '...' */", and
// (name, "") from "/* export: '...' */". wasm2c writes names as they are,
// quotes included, so only the outermost quotes delimit.
std::pair<std::string, std::string> quoted_pair(const std::string& comment) {
  const auto first = comment.find('\'');
  const auto last = comment.rfind('\'');
  if (first == std::string::npos || last <= first) {
    return {"", ""};
  }
  const std::string inner = comment.substr(first + 1, last - first - 1);
  const auto gap = inner.find("' '");
  if (gap == std::string::npos) {
    return {inner, ""};
  }
  return {inner.substr(0, gap), inner.substr(gap + 3)};
}

struct HeaderFacts {
  std::string body;                                        // the header without its includes
  std::vector<std::pair<std::size_t, Prototype>> imports;  // slot -> prototype
  std::optional<Prototype> instantiate;
  std::optional<std::string> memory_export;  // function name
  std::optional<std::string> start_export;
};

HeaderFacts read_header(const Module& module, const std::string& header) {
  HeaderFacts facts;
  std::vector<std::string> lines = split_lines(header);
  const auto& imports = module.function_imports();
  const std::string instantiate_name = std::string("Z_") + kModuleName + "_instantiate";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (starts_with(line, "#include")) {
      continue;
    }
    facts.body += line + "\n";
    bool has_next = i + 1 < lines.size();
    if (starts_with(line, "/* import: ") && has_next) {
      auto [mod, field] = quoted_pair(line);
      Prototype proto = parse_prototype(lines[i + 1]);
      std::size_t slot = imports.size();
      for (std::size_t k = 0; k < imports.size(); ++k) {
        if (imports[k].module == mod && imports[k].name == field) {
          slot = k;
          break;
        }
      }
      if (slot == imports.size()) {
        throw ModuleError(module.name(), 0,
                          "translation lost track of import " + mod + "." + field);
      }
      facts.imports.emplace_back(slot, proto);
    } else if (starts_with(line, "/* export: ") && has_next) {
      auto [name, unused] = quoted_pair(line);
      Prototype proto = parse_prototype(lines[i + 1]);
      if (name == "memory" && proto.result == "wasm_rt_memory_t*") {
        facts.memory_export = proto.name;
      } else if (name == "_start" && proto.params.size() == 1 && proto.result == "void") {
        facts.start_export = proto.name;
      }
    } else if (starts_with(line, "void " + instantiate_name + "(")) {
      facts.instantiate = parse_prototype(line);
    }
  }
  return facts;
}

// SIMD helpers (simd_lowering.h). wasm2c declares each before any function,
//   static u32 w2c_wasmshim_simd_v128_any_true(Z_m_instance_t*, u64, u64);
// which becomes a macro for the library function of the same name (one call,
// not two, under tcc), and later defines it with a placeholder body, which
// is dropped.
enum class SimdHelperLine { kNone, kDeclaration, kDefinition };

SimdHelperLine simd_helper_line(std::string_view line) {
  const std::string marker = " w2c_" + std::string(kSimdHelperPrefix);
  if (!line.starts_with("static ") || line.find(marker) == std::string_view::npos) {
    return SimdHelperLine::kNone;
  }
  return line.ends_with(");")  ? SimdHelperLine::kDeclaration
         : line.ends_with("{") ? SimdHelperLine::kDefinition
                               : SimdHelperLine::kNone;
}

std::string simd_helper_macro(const std::string& declaration) {
  const std::string name = parse_prototype(declaration).name;
  return "#define " + name + "(instance, ...) " + name.substr(std::string("w2c_").size()) +
         "(__VA_ARGS__)\n";
}

std::string source_body(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_placeholder = false;
  const std::string_view source(text);
  for (std::size_t pos = 0; pos < source.size();) {
    std::size_t end = source.find('\n', pos);
    if (end == std::string_view::npos) {
      end = source.size();
    }
    const std::string_view line = source.substr(pos, end - pos);
    pos = end + 1;
    if (in_placeholder) {
      in_placeholder = line != "}";
      continue;
    }
    // Includes are replaced by the prelude; loads, stores and reinterprets
    // are macros there instead of the inline functions these lines define.
    if (line.starts_with("#include") || line.starts_with("DEFINE_LOAD(") ||
        line.starts_with("DEFINE_STORE(") || line.starts_with("DEFINE_REINTERPRET(")) {
      continue;
    }
    switch (simd_helper_line(line)) {
      case SimdHelperLine::kDeclaration:
        out += simd_helper_macro(std::string(line));
        continue;
      case SimdHelperLine::kDefinition:
        in_placeholder = true;
        continue;
      case SimdHelperLine::kNone:
        break;
    }
    out += line;
    out += '\n';
  }
  return out;
}

std::string import_definition(std::size_t slot, const Prototype& proto) {
  std::ostringstream out;
  std::string param_list;
  std::string arg_list;
  std::string type_list;
  for (std::size_t i = 0; i < proto.params.size(); ++i) {
    std::string sep = i ? ", " : "";
    param_list += sep + proto.params[i] + " a" + std::to_string(i);
    arg_list += sep + "a" + std::to_string(i);
    type_list += sep + proto.params[i];
  }
  out << proto.result << " " << proto.name << "(" << param_list << ") {\n  "
      << (proto.result == "void" ? "" : "return ") << "((" << proto.result << " (*)(" << type_list
      << "))wasmshim_imports[" << slot << "])(" << arg_list << ");\n}\n";
  return out.str();
}

char type_code(ValueType type) {
  switch (type) {
    case ValueType::kI32:
      return 'i';
    case ValueType::kI64:
      return 'I';
    case ValueType::kF32:
      return 'f';
    case ValueType::kF64:
      return 'F';
    default:
      return '?';
  }
}

}  // namespace

std::string import_list(const Module& module) {
  std::string out;
  for (const FunctionImport& import : module.function_imports()) {
    out += import.module + "\t" + import.name + "\t";
    for (ValueType t : import.type.params) {
      out += type_code(t);
    }
    out += ':';
    for (ValueType t : import.type.results) {
      out += type_code(t);
    }
    out += '\n';
  }
  return out;
}

namespace {

// A C string literal for text of printable ASCII, tabs and newlines.
std::string c_literal(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (ch >= 0x20 && ch < 0x7f) {
      out += ch;
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\%03o", static_cast<unsigned char>(ch));
      out += escaped;
    }
  }
  return out + "\"";
}

std::string glue(const Module& module, const HeaderFacts& facts) {
  const std::string instance_type = std::string("Z_") + kModuleName + "_instance_t";
  const std::string prefix = std::string("Z_") + kModuleName;
  std::ostringstream out;
  out << "\n/* wasmshim glue */\nstatic void* const* wasmshim_imports;\n";
  // Set by the aot tier's compiler command line, so a loader can tell that a
  // cached object is the entry it asked for.
  out << "#ifdef WASMSHIM_CACHE_KEY\nconst char wasmshim_cache_key[] = "
         "WASMSHIM_CACHE_KEY;\n#endif\n";
  for (const auto& [slot, proto] : facts.imports) {
    out << import_definition(slot, proto);
  }
  out << "const char " << abi::kImportListSymbol << "[] = " << c_literal(import_list(module))
      << ";\n";
  out << "size_t " << abi::kInstanceSizeSymbol << "(void) { return sizeof(" << instance_type
      << "); }\n";
  out << "void " << abi::kBindSymbol
      << "(const struct wasmshim_runtime* rt, void* const* imports) {\n"
      << "  wasmshim_rt = rt;\n  wasmshim_imports = imports;\n  " << prefix
      << "_init_module();\n}\n";
  if (!facts.instantiate || facts.instantiate->params.size() > 2) {
    throw ModuleError(module.name(), 0,
                      "the module imports from more than one module; only wasi_snapshot_preview1 "
                      "can be provided");
  }
  out << "void " << abi::kInstantiateSymbol << "(void* instance, void* wasi) {\n  " << prefix
      << "_instantiate((" << instance_type << "*)instance"
      << (facts.instantiate->params.size() == 2 ? ", wasi" : "") << ");\n"
      << (facts.instantiate->params.size() == 2 ? "" : "  (void)wasi;\n") << "}\n";
  out << "void " << abi::kFreeSymbol << "(void* instance) { " << prefix << "_free(("
      << instance_type << "*)instance); }\n";
  out << "wasm_rt_memory_t* " << abi::kMemorySymbol << "(void* instance) { "
      << (facts.memory_export
              ? "return " + *facts.memory_export + "((" + instance_type + "*)instance);"
              : std::string("(void)instance; return NULL;"))
      << " }\n";
  if (facts.start_export) {
    out << "void " << abi::kStartSymbol << "(void* instance) { " << *facts.start_export << "(("
        << instance_type << "*)instance); }\n";
  }
  return out.str();
}

}  // namespace

std::string translate_to_c(const Module& module, std::size_t bytes_per_part) {
  wabt::MemoryStream c_stream;
  wabt::MemoryStream h_stream;
  wabt::WriteCOptions options;
  options.module_name = kModuleName;
  if (!wabt::Succeeded(wabt::WriteC(&c_stream, &h_stream, "m.h", &module.parsed().ir, options))) {
    throw ModuleError(module.name(), 0, "translation to C failed");
  }
  HeaderFacts facts = read_header(module, stream_text(h_stream));
  const PartitionedSource functions = partition_functions(
      fold_stack_temporaries(source_body(stream_text(c_stream))), bytes_per_part);
  std::string out = parts_line(functions.parts);
  out += kCPrelude;
  out += facts.body;
  if (module.uses_simd()) {
    out += kCSimdLibrary;
  }
  out += functions.text;
  out += "#if WASMSHIM_IN_PART(0)\n" + glue(module, facts) + "#endif\n";
  return out;
}

}  // namespace wasmshim::wasm
