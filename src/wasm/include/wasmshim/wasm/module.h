// A WebAssembly module read from bytes and validated, ready to translate.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace wasmshim::wasm {

// Why a module was refused: names the file, the byte offset (when the reader
// knows it) and the reason.
class ModuleError : public std::runtime_error {
 public:
  ModuleError(std::string file, std::uint64_t offset, std::string reason);
  const std::string& file() const { return file_; }
  std::uint64_t offset() const { return offset_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_;
  std::uint64_t offset_;
  std::string reason_;
};

enum class ValueType { kI32, kI64, kF32, kF64, kV128, kFuncRef, kExternRef };

struct FunctionType {
  std::vector<ValueType> params;
  std::vector<ValueType> results;
  bool operator==(const FunctionType&) const = default;
};

// A module file's bytes; throws ModuleError when it cannot be opened or read.
std::vector<std::uint8_t> read_module_bytes(const std::string& path);

// Lower-case hex SHA-256: a module's identity in caches.
std::string module_digest(const std::vector<std::uint8_t>& bytes);

// "(i32, i64) -> (i32)"
std::string to_string(const FunctionType& type);

struct FunctionImport {
  std::string module;
  std::string name;
  FunctionType type;
};

// What a module file's framing and its small leading sections say, read
// without its code or data: cheap enough for a container runtime's Create.
struct ModuleOutline {
  std::vector<FunctionImport> function_imports;
  std::vector<std::string> other_imports;  // "module.name"
  bool exports_memory = false;
};

// Reads the file behind `fd` by offset (its position is left alone): the
// magic and version, every section's id, order and size against the file's
// end, and the type, import and export sections in full. Code and data are
// skipped by their sizes, so a well-framed module can still fail the full
// read. Throws ModuleError naming `name` and the offset at fault.
ModuleOutline read_module_outline(int fd, const std::string& name);

class Module {
 public:
  // Reads and validates; throws ModuleError. `name` is used in messages.
  static Module from_bytes(std::string name, std::vector<std::uint8_t> bytes);
  static Module from_file(const std::string& path);

  Module(Module&&) noexcept;
  Module& operator=(Module&&) noexcept;
  ~Module();

  const std::string& name() const { return name_; }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }
  // Lower-case hex SHA-256 of the bytes: the module's identity in caches.
  const std::string& digest() const { return digest_; }
  const std::vector<FunctionImport>& function_imports() const { return function_imports_; }
  // Non-function imports (memories, tables, globals) by "module.name".
  const std::vector<std::string>& other_imports() const { return other_imports_; }
  bool exports_function(const std::string& export_name) const;
  bool exports_memory() const { return exports_memory_; }
  // Whether the module uses SIMD (v128), which the engine lowered to scalar
  // operations before translation.
  bool uses_simd() const { return uses_simd_; }

  // The parsed wabt module, for the translator. Opaque outside the engine.
  struct Parsed;
  const Parsed& parsed() const { return *parsed_; }

 private:
  Module() = default;
  std::string name_;
  std::vector<std::uint8_t> bytes_;
  std::string digest_;
  std::vector<FunctionImport> function_imports_;
  std::vector<std::string> other_imports_;
  std::vector<std::string> exported_functions_;
  bool exports_memory_ = false;
  bool uses_simd_ = false;
  std::unique_ptr<Parsed> parsed_;
};

}  // namespace wasmshim::wasm
