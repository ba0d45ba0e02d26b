// Test support: WebAssembly text to binary with libwabt, and running modules.
#pragma once

#include <unistd.h>
#include <wabt/binary-writer.h>
#include <wabt/error-formatter.h>
#include <wabt/feature.h>
#include <wabt/stream.h>
#include <wabt/wast-lexer.h>
#include <wabt/wast-parser.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace wasmshim::wasm::testing {

inline std::vector<std::uint8_t> wat_to_wasm(const std::string& text, bool simd = false) {
  wabt::Errors errors;
  auto lexer = wabt::WastLexer::CreateBufferLexer("test.wat", text.data(), text.size(), &errors);
  wabt::Features features;
  features.enable_bulk_memory();
  features.enable_reference_types();
  features.enable_multi_value();
  features.enable_sign_extension();
  features.enable_sat_float_to_int();
  if (simd) {
    features.enable_simd();
  }
  wabt::WastParseOptions options(features);
  std::unique_ptr<wabt::Module> module;
  if (!wabt::Succeeded(wabt::ParseWatModule(lexer.get(), &module, &errors, &options))) {
    throw std::runtime_error("bad test WAT: " +
                             wabt::FormatErrorsToString(errors, wabt::Location::Type::Text));
  }
  wabt::MemoryStream stream;
  wabt::WriteBinaryOptions write_options;
  write_options.features = features;
  if (!wabt::Succeeded(wabt::WriteBinaryModule(&stream, module.get(), write_options))) {
    throw std::runtime_error("cannot write test module");
  }
  const auto& data = stream.output_buffer().data;
  return {data.begin(), data.end()};
}

}  // namespace wasmshim::wasm::testing
