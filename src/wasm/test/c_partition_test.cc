// The split of a translation into parts the aot tier compiles one by one.
#include "../c_partition.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../aot_tier.h"
#include "support/temp_dir.h"
#include "wasmshim/wasm/engine.h"
#include "wat.h"

namespace wasmshim::wasm {
namespace {

// The shapes wasm2c writes: helpers, file-scope variables, a data segment,
// prototypes (one wrapped over two lines), instantiation code and functions.
constexpr const char* kWasm2cShapes = R"(static inline u32 helper(u32 x) {
  return x;
}
static u32 counter;
static const u8 data_segment_data_w2c_d0[] = {
  0x01, 0x02,
};
static u32 w2c_f0(Z_m_instance_t*, u32);
static u32 w2c_f1(Z_m_instance_t*, u32,
    u32);
static void init_memories(Z_m_instance_t* instance) {
  counter = 1;
}
static u32 w2c_f0(Z_m_instance_t* instance, u32 w2c_p0) {
  return helper(w2c_p0);
}
#define W2C_MACRO 1
static u32 w2c_f1(Z_m_instance_t* instance, u32 w2c_p0,
    u32 w2c_p1) {
  return w2c_f0(instance, w2c_p0) + w2c_p1;
}
)";

bool contains(const std::string& text, const std::string& piece) {
  return text.find(piece) != std::string::npos;
}

TEST(CPartition, FunctionsSpreadOverPartsAndEveryPartSeesTheDeclarations) {
  const PartitionedSource result = partition_functions(kWasm2cShapes, 1);
  ASSERT_EQ(result.parts, 2U);
  const std::string& text = result.text;
  // Shared by every part: helpers, prototypes (joined), preprocessor lines.
  EXPECT_TRUE(text.starts_with("static inline u32 helper(u32 x) {\n")) << text;
  EXPECT_TRUE(contains(text, "\nWASMSHIM_FN u32 w2c_f1(Z_m_instance_t*, u32, u32);\n")) << text;
  EXPECT_TRUE(contains(text, "#endif\n#define W2C_MACRO 1\n#if WASMSHIM_IN_PART(1)\n")) << text;
  // Variables: defined in part 0, extern elsewhere.
  EXPECT_TRUE(contains(text,
                       "#if WASMSHIM_IN_PART(0)\nWASMSHIM_VAR u32 counter;\n#else\n"
                       "extern WASMSHIM_VAR u32 counter;\n#endif\n"))
      << text;
  EXPECT_TRUE(contains(text,
                       "WASMSHIM_VAR const u8 data_segment_data_w2c_d0[] = {\n  0x01, 0x02,\n};\n"
                       "#else\nextern WASMSHIM_VAR const u8 data_segment_data_w2c_d0[];\n"))
      << text;
  // Instantiation code is part 0's; each function is in one part.
  EXPECT_TRUE(contains(text, "#if WASMSHIM_IN_PART(0)\nstatic void init_memories(")) << text;
  EXPECT_TRUE(contains(text, "  counter = 1;\n}\nWASMSHIM_FN u32 w2c_f0(Z_m_instance_t* instance"))
      << text;
  EXPECT_TRUE(contains(text,
                       "#if WASMSHIM_IN_PART(1)\nWASMSHIM_FN u32 w2c_f1(Z_m_instance_t* instance, "
                       "u32 w2c_p0, u32 w2c_p1) {\n  return w2c_f0("))
      << text;
  EXPECT_FALSE(contains(text, "static u32 w2c_")) << text;
  const auto count = [&](const std::string& piece) {
    std::size_t n = 0;
    for (std::size_t at = text.find(piece); at != std::string::npos;
         at = text.find(piece, at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("#if "), count("#endif\n"));
  EXPECT_TRUE(text.ends_with("}\n#endif\n")) << text;
}

TEST(CPartition, NoMorePartsThanFunctions) {
  EXPECT_EQ(partition_functions(kWasm2cShapes, std::size_t{1} << 20).parts, 1U);
  EXPECT_EQ(partition_functions(kWasm2cShapes, 0).parts, 2U);
  const PartitionedSource none = partition_functions("static u32 counter;\n", 1);
  EXPECT_EQ(none.parts, 1U);
  EXPECT_FALSE(contains(none.text, "WASMSHIM_IN_PART(1)"));
}

TEST(CPartition, PartCountLineIsFoundAfterTheCacheMarker) {
  EXPECT_EQ(parts_of_translation(parts_line(3)), 3U);
  EXPECT_EQ(parts_of_translation("/* wasmshim-c abc */\n" + parts_line(12) + "typedef int x;\n"),
            12U);
  EXPECT_EQ(parts_of_translation("/* wasmshim-c abc */\ntypedef int x;\n"), 1U);
  EXPECT_EQ(parts_of_translation("/* wasmshim translation: 0 parts */\n"), 1U);
  EXPECT_EQ(parts_of_translation("/* wasmshim translation: many parts */\n"), 1U);
  EXPECT_EQ(parts_of_translation("/* wasmshim translation: 4 piece */\n"), 1U);
  EXPECT_EQ(parts_of_translation("/* wasmshim translation: 4"), 1U);
}

TEST(CPartition, BuildCompilesEachPartThenLinksTheirObjects) {
  const auto commands = aot_build_commands("/c/m.c", 3, "/c/m.so.tmp", "key");
  ASSERT_EQ(commands.size(), 4U);
  const auto objects = aot_part_objects("/c/m.so.tmp", 3);
  ASSERT_EQ(objects.size(), 3U);
  for (std::size_t part = 0; part < 3; ++part) {
    const auto& compile = commands[part];
    EXPECT_NE(std::find(compile.begin(), compile.end(), "-DWASMSHIM_PART=" + std::to_string(part)),
              compile.end());
    EXPECT_NE(std::find(compile.begin(), compile.end(), "-c"), compile.end());
    EXPECT_EQ(compile[compile.size() - 2], objects[part]);
    EXPECT_EQ(compile.back(), "/c/m.c");
  }
  const auto& link = commands.back();
  for (const std::string& object : objects) {
    EXPECT_NE(std::find(link.begin(), link.end(), object), link.end());
  }
  EXPECT_NE(std::find(link.begin(), link.end(), "-shared"), link.end());

  const auto whole = aot_build_commands("/c/m.c", 1, "/c/m.so.tmp", "key");
  ASSERT_EQ(whole.size(), 1U);
  EXPECT_EQ(std::count(whole[0].begin(), whole[0].end(), "-c"), 0);
  EXPECT_TRUE(aot_part_objects("/c/m.so.tmp", 1).empty());
}

// A module of three functions built in parts into the cache: the translation
// names them, the object runs, and no part's object is left behind.
TEST(CPartition, ModuleCompiledInPartsRunsAndLeavesOnlyItsEntries) {
  wasmshim::testing::TempDir cache;
  EngineOptions options;
  options.tier = Tier::kAot;
  options.cache_dir = cache.path().string();
  options.aot_part_bytes = 1;
  Module module = Module::from_bytes("parts.wasm", testing::wat_to_wasm(R"((module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $double (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
  (func $add_one (param i32) (result i32) local.get 0 call $double i32.const 1 i32.add)
  (func (export "_start") i32.const 20 call $add_one call $exit)))"));
  PreparedModule prepared = prepare(module, options);
  EXPECT_EQ(prepared.report().tier, "aot");
  EXPECT_EQ(run(prepared, WasiConfig{{"parts.wasm"}, {}, {}, 0, 1, 2}, options).exit_code, 41);

  std::size_t translations = 0;
  for (const auto& entry : std::filesystem::directory_iterator(cache.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_FALSE(name.ends_with(".o")) << name;
    if (name.ends_with(".c")) {
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      EXPECT_EQ(parts_of_translation(text.str()), 3U);
      ++translations;
    }
  }
  EXPECT_EQ(translations, 1U);
}

}  // namespace
}  // namespace wasmshim::wasm
