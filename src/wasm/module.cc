#include "wasmshim/wasm/module.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wabt/apply-names.h>
#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader-nop.h>
#include <wabt/binary-reader.h>
#include <wabt/cast.h>
#include <wabt/error.h>
#include <wabt/feature.h>
#include <wabt/generate-names.h>
#include <wabt/validator.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <optional>

#include "kept_loads.h"
#include "module_parsed.h"
#include "simd_lowering.h"
#include "wasmshim/base/sha256.h"

namespace wasmshim::wasm {
namespace {

constexpr std::array<std::uint8_t, 4> kMagic = {0x00, 0x61, 0x73, 0x6d};

// The proposals clang and Rust emit for wasm32-wasi today. SIMD is read
// separately so that its use gets a message of its own.
wabt::Features supported_features(bool simd) {
  wabt::Features features;
  features.enable_mutable_globals();
  features.enable_sat_float_to_int();
  features.enable_sign_extension();
  features.enable_multi_value();
  features.enable_bulk_memory();
  features.enable_reference_types();
  if (simd) {
    features.enable_simd();
  } else {
    features.disable_simd();
  }
  return features;
}

}  // namespace

std::string module_digest(const std::vector<std::uint8_t>& bytes) {
  return base::Sha256().update(bytes.data(), bytes.size()).hex();
}

namespace {

ValueType value_type(wabt::Type type) {
  switch (type) {
    case wabt::Type::I32:
      return ValueType::kI32;
    case wabt::Type::I64:
      return ValueType::kI64;
    case wabt::Type::F32:
      return ValueType::kF32;
    case wabt::Type::F64:
      return ValueType::kF64;
    case wabt::Type::V128:
      return ValueType::kV128;
    case wabt::Type::FuncRef:
      return ValueType::kFuncRef;
    default:
      return ValueType::kExternRef;
  }
}

FunctionType function_type(const wabt::FuncSignature& sig) {
  FunctionType out;
  for (const wabt::Type& t : sig.param_types) {
    out.params.push_back(value_type(t));
  }
  for (const wabt::Type& t : sig.result_types) {
    out.results.push_back(value_type(t));
  }
  return out;
}

// The first error wabt reported, as a ModuleError.
ModuleError first_error(const std::string& name, const wabt::Errors& errors, const char* stage) {
  for (const wabt::Error& error : errors) {
    if (error.error_level == wabt::ErrorLevel::Error) {
      return ModuleError(name, error.loc.offset, std::string(stage) + ": " + error.message);
    }
  }
  return ModuleError(name, 0, std::string(stage) + " failed");
}

// libwabt 1.0.32's IR builder asserts (aborting the process) when a constant
// expression opens a block it never closes, e.g. a global initialised with
// `i32.const 1 if`: the label it leaves behind breaks the next expression.
// This pass reads the module without building IR and finds such input first.
class ConstantExpressionCheck : public wabt::BinaryReaderNop {
 public:
  bool OnError(const wabt::Error& /*error*/) override { return true; }  // the real read reports
  wabt::Result BeginGlobalInitExpr(wabt::Index /*index*/) override { return enter(); }
  wabt::Result EndGlobalInitExpr(wabt::Index /*index*/) override { return leave(); }
  wabt::Result BeginElemSegmentInitExpr(wabt::Index /*index*/) override { return enter(); }
  wabt::Result EndElemSegmentInitExpr(wabt::Index /*index*/) override { return leave(); }
  wabt::Result BeginDataSegmentInitExpr(wabt::Index /*index*/) override { return enter(); }
  wabt::Result EndDataSegmentInitExpr(wabt::Index /*index*/) override { return leave(); }
  wabt::Result OnBlockExpr(wabt::Type /*type*/) override { return control(); }
  wabt::Result OnLoopExpr(wabt::Type /*type*/) override { return control(); }
  wabt::Result OnIfExpr(wabt::Type /*type*/) override { return control(); }
  wabt::Result OnTryExpr(wabt::Type /*type*/) override { return control(); }
  wabt::Result OnElseExpr() override { return control(); }

  // Offset of the first control instruction inside a constant expression.
  std::optional<std::uint64_t> offending_offset;

 private:
  wabt::Result enter() {
    in_constant_expression_ = true;
    return wabt::Result::Ok;
  }
  wabt::Result leave() {
    in_constant_expression_ = false;
    return wabt::Result::Ok;
  }
  wabt::Result control() {
    if (!in_constant_expression_) {
      return wabt::Result::Ok;
    }
    offending_offset = state != nullptr ? state->offset : 0;
    return wabt::Result::Error;
  }
  bool in_constant_expression_ = false;
};

void validate(const std::string& name, wabt::Module& ir, bool simd, const char* stage) {
  wabt::Errors errors;
  wabt::ValidateOptions options(supported_features(simd));
  if (!wabt::Succeeded(wabt::ValidateModule(&ir, &errors, options))) {
    throw first_error(name, errors, stage);
  }
}

bool read(const std::string& name, const std::vector<std::uint8_t>& bytes, bool simd,
          wabt::Module& out, wabt::Errors& errors) {
  wabt::ReadBinaryOptions options(supported_features(simd), nullptr, /*read_debug_names=*/false,
                                  /*stop_on_first_error=*/true,
                                  /*fail_on_custom_section_error=*/false);
  return wabt::Succeeded(
      wabt::ReadBinaryIr(name.c_str(), bytes.data(), bytes.size(), options, &errors, &out));
}

}  // namespace

ModuleError::ModuleError(std::string file, std::uint64_t offset, std::string reason)
    : std::runtime_error(file + ": offset " + std::to_string(offset) + ": " + reason),
      file_(std::move(file)),
      offset_(offset),
      reason_(std::move(reason)) {}

std::string to_string(const FunctionType& type) {
  static constexpr std::array<const char*, 7> kNames = {"i32",  "i64",     "f32",      "f64",
                                                        "v128", "funcref", "externref"};
  auto list = [](const std::vector<ValueType>& types) {
    std::string out = "(";
    for (std::size_t i = 0; i < types.size(); ++i) {
      out += (i ? ", " : "");
      out += kNames[static_cast<std::size_t>(types[i])];
    }
    return out + ")";
  };
  return list(type.params) + " -> " + list(type.results);
}

Module::Module(Module&&) noexcept = default;
Module& Module::operator=(Module&&) noexcept = default;
Module::~Module() = default;

std::vector<std::uint8_t> read_module_bytes(const std::string& path) {
  // One read per 64 KiB: a byte-wise stream copy of a 230 KB module was 3%
  // of a container start's CPU.
  struct File {
    int fd;
    ~File() {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  } file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) {
    throw ModuleError(path, 0, "cannot open the file");
  }
  struct stat st {};
  std::vector<std::uint8_t> bytes;
  if (::fstat(file.fd, &st) == 0 && st.st_size > 0) {
    bytes.reserve(static_cast<std::size_t>(st.st_size));
  }
  std::vector<std::uint8_t> chunk(std::size_t{64} * 1024);
  for (;;) {
    const ssize_t n = ::read(file.fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw ModuleError(path, 0, "cannot read the file");
    }
    if (n == 0) {
      return bytes;
    }
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
  }
}

Module Module::from_file(const std::string& path) {
  return from_bytes(path, read_module_bytes(path));
}

Module Module::from_bytes(std::string name, std::vector<std::uint8_t> bytes) {
  if (bytes.size() < kMagic.size() || !std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    throw ModuleError(name, 0, "not a WebAssembly module (no \\0asm magic)");
  }
  ConstantExpressionCheck check;
  wabt::ReadBinaryOptions check_options(supported_features(/*simd=*/true), nullptr, false, true,
                                        false);
  check_options.skip_function_bodies = true;  // constant expressions live outside them
  wabt::ReadBinary(bytes.data(), bytes.size(), &check, check_options);
  if (check.offending_offset) {
    throw ModuleError(name, *check.offending_offset,
                      "malformed module: control instruction in a constant expression");
  }
  Module module;
  module.parsed_ = std::make_unique<Parsed>();
  wabt::Errors errors;
  if (!read(name, bytes, /*simd=*/false, module.parsed_->ir, errors)) {
    // Read again with SIMD: a module that uses it is lowered to scalars.
    wabt::Errors simd_errors;
    module.parsed_ = std::make_unique<Parsed>();
    if (!read(name, bytes, /*simd=*/true, module.parsed_->ir, simd_errors)) {
      // Read as far as it goes: past any SIMD to the real fault.
      throw first_error(name, simd_errors, "malformed module");
    }
    validate(name, module.parsed_->ir, /*simd=*/true, "invalid module");
    keep_dropped_loads(module.parsed_->ir);
    lower_simd(name, module.parsed_->ir);
    module.uses_simd_ = true;
    // Checked again without SIMD: a fault in the lowering is an error here,
    // not a miscompiled guest.
    validate(name, module.parsed_->ir, /*simd=*/false, "SIMD lowering left an invalid module");
  } else {
    validate(name, module.parsed_->ir, /*simd=*/false, "invalid module");
    keep_dropped_loads(module.parsed_->ir);
  }
  // The C writer needs every function, global and type to have a name.
  if (!wabt::Succeeded(wabt::GenerateNames(&module.parsed_->ir)) ||
      !wabt::Succeeded(wabt::ApplyNames(&module.parsed_->ir))) {
    throw ModuleError(name, 0, "cannot name the module's functions for translation");
  }
  const wabt::Module& ir = module.parsed_->ir;
  for (const wabt::Import* import : ir.imports) {
    if (const auto* func = wabt::dyn_cast<wabt::FuncImport>(import)) {
      module.function_imports_.push_back(
          {import->module_name, import->field_name, function_type(func->func.decl.sig)});
    } else {
      module.other_imports_.push_back(import->module_name + "." + import->field_name);
    }
  }
  for (const wabt::Export* exported : ir.exports) {
    if (exported->kind == wabt::ExternalKind::Func) {
      module.exported_functions_.push_back(exported->name);
    } else if (exported->kind == wabt::ExternalKind::Memory) {
      module.exports_memory_ = true;
    }
  }
  module.name_ = std::move(name);
  module.digest_ = module_digest(bytes);
  module.bytes_ = std::move(bytes);
  return module;
}

bool Module::exports_function(const std::string& export_name) const {
  return std::find(exported_functions_.begin(), exported_functions_.end(), export_name) !=
         exported_functions_.end();
}

}  // namespace wasmshim::wasm
