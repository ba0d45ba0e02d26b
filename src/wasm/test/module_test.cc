#include "wasmshim/wasm/module.h"

#include <gtest/gtest.h>

#include "wat.h"

namespace wasmshim::wasm {
namespace {

using testing::wat_to_wasm;

TEST(Module, DigestIsSha256InHex) {
  // FIPS 180-2's examples: "abc", and the 56-byte two-block message.
  const std::string abc = "abc";
  EXPECT_EQ(module_digest({abc.begin(), abc.end()}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(module_digest({two_blocks.begin(), two_blocks.end()}),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(module_digest({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Module, RefusesBytesWithoutTheMagic) {
  try {
    Module::from_bytes("elf.bin", {0x7f, 'E', 'L', 'F', 2, 1, 1});
    FAIL() << "accepted an ELF header";
  } catch (const ModuleError& e) {
    EXPECT_EQ(e.file(), "elf.bin");
    EXPECT_EQ(e.offset(), 0u);
    EXPECT_NE(e.reason().find("not a WebAssembly module"), std::string::npos);
  }
}

TEST(Module, TruncatedModuleNamesTheOffset) {
  std::vector<std::uint8_t> bytes =
      wat_to_wasm("(module (func (export \"f\") (result i32) i32.const 7))");
  bytes.resize(bytes.size() - 3);
  try {
    Module::from_bytes("cut.wasm", bytes);
    FAIL() << "accepted a truncated module";
  } catch (const ModuleError& e) {
    EXPECT_GT(e.offset(), 8u);
    EXPECT_NE(std::string(e.what()).find("cut.wasm: offset "), std::string::npos);
  }
}

TEST(Module, InvalidModuleIsRefusedWithTheValidatorsReason) {
  // Well-formed, but the function returns an i64 where it promises an i32.
  std::vector<std::uint8_t> bytes = {
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,   // header
      0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,         // type () -> i32
      0x03, 0x02, 0x01, 0x00,                           // func 0: type 0
      0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x07, 0x0b};  // i64.const 7
  try {
    Module::from_bytes("typed.wasm", bytes);
    FAIL() << "accepted an ill-typed function";
  } catch (const ModuleError& e) {
    EXPECT_NE(e.reason().find("invalid module"), std::string::npos) << e.what();
  }
}

TEST(Module, UnclosedBlockInAConstantExpressionIsRefusedNotAborted) {
  // A global initialised with `i32.const 1 if` cut off by its section's end,
  // then an element segment: libwabt 1.0.32's IR reader aborts on this
  // (found by the module fuzzer); it must be a ModuleError instead.
  std::vector<std::uint8_t> bytes = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,  // header
                                     0x04, 0x04, 0x01, 0x70, 0x00, 0x01,              // table
                                     0x06, 0x07, 0x01, 0x7f, 0x00, 0x41, 0x01, 0x04,
                                     0x40,                                             // global
                                     0x09, 0x06, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x00};  // elem
  try {
    Module::from_bytes("cut.wasm", bytes);
    FAIL() << "accepted a constant expression with an unclosed if";
  } catch (const ModuleError& e) {
    EXPECT_EQ(e.offset(), 23u);
    EXPECT_NE(e.reason().find("constant expression"), std::string::npos) << e.what();
  }
}

TEST(Module, SimdIsLoweredToScalars) {
  Module simd = Module::from_bytes(
      "simd.wasm", wat_to_wasm("(module (func (export \"f\") (result i32) v128.const i32x4 1 2 3 4 "
                               "i32x4.extract_lane 0))",
                               true));
  EXPECT_TRUE(simd.uses_simd());
  EXPECT_TRUE(simd.exports_function("f"));
  Module scalar = Module::from_bytes("scalar.wasm", wat_to_wasm("(module (func (export \"f\")))"));
  EXPECT_FALSE(scalar.uses_simd());
}

TEST(Module, V128InAnImportIsRefusedByName) {
  auto bytes = wat_to_wasm(
      "(module (import \"env\" \"take\" (func (param v128))) (func (export \"_start\")))", true);
  try {
    Module::from_bytes("import.wasm", bytes);
    FAIL() << "accepted a v128 import";
  } catch (const ModuleError& e) {
    EXPECT_NE(e.reason().find("env.take"), std::string::npos) << e.what();
    EXPECT_NE(e.reason().find("v128"), std::string::npos) << e.what();
  }
}

TEST(Module, InvalidSimdIsRefusedBeforeLowering) {
  // i32x4.add of an i32: wrong operand type, caught by validation with SIMD.
  std::vector<std::uint8_t> bytes = wat_to_wasm(
      "(module (func (result v128) v128.const i32x4 0 0 0 0 v128.const i32x4 0 0 0 0 i32x4.add))",
      true);
  // Patch the second v128.const (0xfd 0x0c + 16 bytes) into i32.const 0 and nops.
  std::size_t second = 0;
  for (std::size_t i = 0, seen = 0; i + 1 < bytes.size(); ++i) {
    if (bytes[i] == 0xfd && bytes[i + 1] == 0x0c && ++seen == 2) {
      second = i;
      break;
    }
  }
  ASSERT_NE(second, 0u);
  bytes[second] = 0x41;      // i32.const
  bytes[second + 1] = 0x00;  // 0
  for (std::size_t k = 2; k < 18; ++k) {
    bytes[second + k] = 0x01;  // nop
  }
  try {
    Module::from_bytes("bad.wasm", bytes);
    FAIL() << "accepted a mistyped SIMD operation";
  } catch (const ModuleError& e) {
    EXPECT_NE(e.reason().find("invalid module"), std::string::npos) << e.what();
  }
}

TEST(Module, ReportsImportsExportsAndDigest) {
  auto bytes = wat_to_wasm(R"((module
    (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
    (import "env" "table" (table 1 funcref))
    (memory (export "memory") 1)
    (func (export "_start"))))");
  Module module = Module::from_bytes("m.wasm", bytes);
  ASSERT_EQ(module.function_imports().size(), 1u);
  EXPECT_EQ(module.function_imports()[0].name, "fd_write");
  EXPECT_EQ(to_string(module.function_imports()[0].type), "(i32, i32, i32, i32) -> (i32)");
  EXPECT_EQ(module.other_imports(), std::vector<std::string>{"env.table"});
  EXPECT_TRUE(module.exports_memory());
  EXPECT_TRUE(module.exports_function("_start"));
  EXPECT_FALSE(module.exports_function("main"));
  EXPECT_EQ(module.digest().size(), 64u);
  EXPECT_EQ(Module::from_bytes("again.wasm", bytes).digest(), module.digest());
}

TEST(Module, MissingFile) {
  EXPECT_THROW(Module::from_file("/nonexistent/app.wasm"), ModuleError);
}

}  // namespace
}  // namespace wasmshim::wasm
