// The cache and the tiers working together: what `auto` picks, background
// builds, damaged and foreign entries, concurrent compiles.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "support/temp_dir.h"
#include "wasmshim/wasm/engine.h"
#include "wat.h"

namespace wasmshim::wasm {
namespace {

namespace fs = std::filesystem;
using testing::wat_to_wasm;
using wasmshim::testing::TempDir;

Module exit_module(int code) {
  return Module::from_bytes("exit.wasm", wat_to_wasm(R"((module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func (export "_start") i32.const )" + std::to_string(code) +
                                                     R"( call $exit)))"));
}

class CacheTest : public ::testing::Test {
 protected:
  // Background builds only where a test waits for them: one still running
  // when its test ends would write into a removed directory.
  EngineOptions options(Tier tier, bool background = false) {
    EngineOptions o;
    o.tier = tier;
    o.cache_dir = cache_.path().string();
    o.background_aot = background;
    return o;
  }
  static void write_module(const fs::path& file, const Module& module) {
    std::ofstream(file, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(module.bytes().data()),
               static_cast<std::streamsize>(module.bytes().size()));
  }
  int run_module(const PreparedModule& prepared) {
    return run(prepared, WasiConfig{{"m"}, {}, {}, 0, 1, 2}, EngineOptions{}).exit_code;
  }
  std::vector<fs::path> entries(const std::string& extension) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(cache_.path())) {
      if (entry.path().extension() == extension && entry.path().filename().string()[0] != '.') {
        out.push_back(entry.path());
      }
    }
    return out;
  }
  bool wait_for_object() {
    for (int i = 0; i < 1200; ++i) {  // generous: the machine may be busy
      // The job publishes the object, then removes its lock.
      if (!entries(".so").empty() && entries(".lock").empty()) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  TempDir cache_;
};

TEST_F(CacheTest, AutoRunsJitThenAotOnceTheBackgroundBuildLands) {
  Module module = exit_module(5);
  PreparedModule first = prepare(module, options(Tier::kAuto, true));
  EXPECT_EQ(first.tier(), "jit");
  EXPECT_FALSE(first.report().c_from_cache);
  EXPECT_TRUE(first.report().background_build_started);
  EXPECT_EQ(run_module(first), 5);
  // While the build runs, another start does not start a second one, and
  // loads what tcc made instead of compiling again.
  PreparedModule meanwhile = prepare(module, options(Tier::kAuto, true));
  if (meanwhile.tier() == "jit") {
    EXPECT_FALSE(meanwhile.report().background_build_started);
    EXPECT_TRUE(meanwhile.report().object_from_cache);
  }
  ASSERT_TRUE(wait_for_object());
  PreparedModule later = prepare(module, options(Tier::kAuto));
  EXPECT_EQ(later.tier(), "aot");
  EXPECT_TRUE(later.report().object_from_cache);
  EXPECT_EQ(run_module(later), 5);
  EXPECT_TRUE(entries(".lock").empty());
}

// A background build of a module in parts (one compiler per part, then the
// link) lands like a whole one and leaves none of the parts' objects.
TEST_F(CacheTest, BackgroundBuildInPartsLandsWithoutItsPartObjects) {
  Module module = Module::from_bytes("parts.wasm", wat_to_wasm(R"((module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func $triple (param i32) (result i32) local.get 0 i32.const 3 i32.mul)
    (func (export "_start") i32.const 4 call $triple call $exit)))"));
  EngineOptions in_parts = options(Tier::kAuto, true);
  in_parts.aot_part_bytes = 1;
  PreparedModule first = prepare(module, in_parts);
  EXPECT_EQ(first.tier(), "jit");
  EXPECT_TRUE(first.report().background_build_started);
  EXPECT_EQ(run_module(first), 12);
  ASSERT_TRUE(wait_for_object());
  in_parts.background_aot = false;
  PreparedModule later = prepare(module, in_parts);
  EXPECT_EQ(later.tier(), "aot");
  EXPECT_EQ(run_module(later), 12);
  for (const auto& entry : fs::directory_iterator(cache_.path())) {
    EXPECT_NE(entry.path().extension(), ".o") << entry.path();
  }
}

TEST_F(CacheTest, AFailedBackgroundBuildIsNotRetriedByEveryStart) {
  ::setenv("WASMSHIM_CC", "false", 1);  // NOLINT(concurrency-mt-unsafe): tests run one at a time
  Module module = exit_module(18);
  PreparedModule first = prepare(module, options(Tier::kAuto, true));
  EXPECT_TRUE(first.report().background_build_started);
  bool done = false;
  for (int i = 0; i < 600 && !done; ++i) {
    done = entries(".lock").empty() && !entries(".log").empty();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(done) << "the failed build left no log";
  EXPECT_TRUE(entries(".so").empty());
  PreparedModule second = prepare(module, options(Tier::kAuto, true));
  EXPECT_EQ(second.tier(), "jit");
  EXPECT_FALSE(second.report().background_build_started);
  ::unsetenv("WASMSHIM_CC");  // NOLINT(concurrency-mt-unsafe)
}

TEST_F(CacheTest, JitStartsFromTheObjectTccWroteIntoTheCache) {
  Module module = exit_module(6);
  PreparedModule cold = prepare(module, options(Tier::kJit));
  EXPECT_FALSE(cold.report().c_from_cache);
  EXPECT_FALSE(cold.report().object_from_cache);
  ASSERT_EQ(entries(".jit").size(), 1u);
  EXPECT_TRUE(entries(".so").empty());  // tcc's object is no aot entry
  PreparedModule again = prepare(module, options(Tier::kJit));
  EXPECT_EQ(again.tier(), "jit");
  EXPECT_TRUE(again.report().object_from_cache);
  EXPECT_EQ(run_module(again), 6);
}

TEST_F(CacheTest, JitReusesTheCachedTranslationWhenItsObjectIsGone) {
  Module module = exit_module(16);
  prepare(module, options(Tier::kJit));
  ASSERT_EQ(entries(".jit").size(), 1u);
  fs::remove(entries(".jit")[0]);
  PreparedModule again = prepare(module, options(Tier::kJit));
  EXPECT_TRUE(again.report().c_from_cache);
  EXPECT_FALSE(again.report().object_from_cache);
  EXPECT_EQ(run_module(again), 16);
  EXPECT_EQ(entries(".jit").size(), 1u);
}

TEST_F(CacheTest, DamagedJitObjectIsDetectedAndRebuilt) {
  Module module = exit_module(17);
  prepare(module, options(Tier::kJit));
  ASSERT_EQ(entries(".jit").size(), 1u);
  std::ofstream(entries(".jit")[0], std::ios::trunc) << "\x7f"
                                                        "ELF but not really";
  PreparedModule rebuilt = prepare(module, options(Tier::kJit));
  EXPECT_FALSE(rebuilt.report().object_from_cache);
  EXPECT_EQ(run_module(rebuilt), 17);
  PreparedModule again = prepare(module, options(Tier::kJit));
  EXPECT_TRUE(again.report().object_from_cache);
  EXPECT_EQ(run_module(again), 17);
}

TEST_F(CacheTest, DamagedTranslationIsRebuilt) {
  Module module = exit_module(7);
  prepare(module, options(Tier::kJit));
  ASSERT_EQ(entries(".c").size(), 1u);
  fs::remove(entries(".jit")[0]);  // else the object is loaded and the C never read
  std::ofstream(entries(".c")[0], std::ios::trunc) << "garbage that is not ours";
  PreparedModule again = prepare(module, options(Tier::kJit));
  EXPECT_FALSE(again.report().c_from_cache);
  EXPECT_EQ(run_module(again), 7);
}

TEST_F(CacheTest, PrecompileThenAotStartsFromTheCache) {
  Module module = exit_module(8);
  std::string path = precompile(module, options(Tier::kAot));
  EXPECT_TRUE(fs::exists(path));
  PreparedModule prepared = prepare(module, options(Tier::kAot));
  EXPECT_TRUE(prepared.report().object_from_cache);
  EXPECT_EQ(prepared.tier(), "aot");
  EXPECT_EQ(run_module(prepared), 8);
}

TEST_F(CacheTest, PrepareFileStartsFromTheCachedObjectWithoutReadingTheModule) {
  Module module = exit_module(14);
  fs::path file = cache_.path() / "app.wasm";
  write_module(file, module);
  PreparedModule cold = prepare_file(file.string(), options(Tier::kAuto));
  EXPECT_EQ(cold.tier(), "jit");
  PreparedModule jit = prepare_file(file.string(), options(Tier::kJit));
  EXPECT_TRUE(jit.report().object_from_cache);
  EXPECT_EQ(run_module(jit), 14);
  precompile(module, options(Tier::kAot));
  PreparedModule warm = prepare_file(file.string(), options(Tier::kAuto));
  EXPECT_EQ(warm.tier(), "aot");
  EXPECT_TRUE(warm.report().object_from_cache);
  EXPECT_EQ(run_module(warm), 14);
  // A different file (another module) does not pick up this object.
  Module other = exit_module(15);
  write_module(file, other);
  EXPECT_EQ(run_module(prepare_file(file.string(), options(Tier::kAuto))), 15);
  EXPECT_THROW(prepare_file((cache_.path() / "missing.wasm").string(), options(Tier::kAuto)),
               ModuleError);
}

// A file's digest is remembered by its stamp once the file has been still
// for a second; a file written since is read and hashed again.
TEST_F(CacheTest, PrepareFileRemembersTheDigestOfASettledFile) {
  Module module = exit_module(21);
  precompile(module, options(Tier::kAot));
  fs::path file = cache_.path() / "settled.wasm";
  write_module(file, module);
  // Just written: hashed, not remembered.
  EXPECT_FALSE(prepare_file(file.string(), options(Tier::kAuto)).report().digest_remembered);
  EXPECT_FALSE(prepare_file(file.string(), options(Tier::kAuto)).report().digest_remembered);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  PreparedModule hashed = prepare_file(file.string(), options(Tier::kAuto));
  EXPECT_FALSE(hashed.report().digest_remembered);
  PreparedModule remembered = prepare_file(file.string(), options(Tier::kAuto));
  EXPECT_TRUE(remembered.report().digest_remembered);
  EXPECT_EQ(remembered.report().module_digest, module.digest());
  EXPECT_EQ(remembered.tier(), "aot");
  EXPECT_EQ(run_module(remembered), 21);
  // Another module of the same size in the same file: a new stamp.
  Module other = exit_module(22);
  ASSERT_EQ(other.bytes().size(), module.bytes().size());
  write_module(file, other);
  PreparedModule changed = prepare_file(file.string(), options(Tier::kAuto));
  EXPECT_FALSE(changed.report().digest_remembered);
  EXPECT_EQ(changed.report().module_digest, other.digest());
  EXPECT_EQ(run_module(changed), 22);
}

TEST_F(CacheTest, ARememberedDigestThatIsNotOneIsIgnored) {
  Module module = exit_module(23);
  precompile(module, options(Tier::kAot));
  fs::path file = cache_.path() / "damaged.wasm";
  write_module(file, module);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  (void)prepare_file(file.string(), options(Tier::kAuto));
  const auto digests = [&] {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(cache_.path())) {
      if (entry.path().filename().string().starts_with("digest-")) {
        out.push_back(entry.path());
      }
    }
    return out;
  }();
  ASSERT_EQ(digests.size(), 1U);
  std::ofstream(digests.front(), std::ios::trunc) << "not a digest";
  PreparedModule prepared = prepare_file(file.string(), options(Tier::kAuto));
  EXPECT_FALSE(prepared.report().digest_remembered);
  EXPECT_EQ(prepared.report().module_digest, module.digest());
  EXPECT_EQ(run_module(prepared), 23);
}

TEST_F(CacheTest, DamagedObjectIsDetectedAndRebuilt) {
  Module module = exit_module(9);
  std::string path = precompile(module, options(Tier::kAot));
  std::ofstream(path, std::ios::trunc) << "\x7f"
                                          "ELF but not really";
  PreparedModule fallback = prepare(module, options(Tier::kAuto));
  EXPECT_EQ(fallback.tier(), "jit");  // the damaged object was refused
  EXPECT_EQ(run_module(fallback), 9);
  PreparedModule rebuilt = prepare(module, options(Tier::kAot));
  EXPECT_EQ(rebuilt.tier(), "aot");
  EXPECT_EQ(run_module(rebuilt), 9);
}

TEST_F(CacheTest, ForeignObjectUnderOurNameIsRefused) {
  Module ours = exit_module(10);
  Module theirs = exit_module(11);
  std::string our_path = precompile(ours, options(Tier::kAot));
  std::string their_path = precompile(theirs, options(Tier::kAot));
  fs::copy_file(their_path, our_path, fs::copy_options::overwrite_existing);
  PreparedModule prepared = prepare(ours, options(Tier::kAot));
  EXPECT_FALSE(prepared.report().object_from_cache);
  EXPECT_EQ(run_module(prepared), 10);
}

TEST_F(CacheTest, ConcurrentCompilesOfOneModuleLeaveOneWholeEntry) {
  Module module = exit_module(12);
  std::vector<std::thread> compilers;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    compilers.emplace_back([&] {
      try {
        precompile(module, options(Tier::kAot));
      } catch (const std::exception&) {
        failures.fetch_add(1);
      }
    });
  }
  for (auto& t : compilers) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(entries(".so").size(), 1u);
  for (const auto& entry : fs::directory_iterator(cache_.path())) {
    EXPECT_NE(entry.path().filename().string().find(".tmp."), 0u)
        << "left behind: " << entry.path();
  }
  PreparedModule prepared = prepare(module, options(Tier::kAot));
  EXPECT_TRUE(prepared.report().object_from_cache);
  EXPECT_EQ(run_module(prepared), 12);
}

TEST_F(CacheTest, UnwritableCacheStillRuns) {
  EngineOptions o;
  o.tier = Tier::kAuto;
  o.cache_dir = "/proc/wasmshim-cannot-write-here";
  PreparedModule prepared = prepare(exit_module(13), o);
  EXPECT_EQ(prepared.tier(), "jit");
  EXPECT_FALSE(prepared.report().background_build_started);
  EXPECT_EQ(run_module(prepared), 13);
}

}  // namespace
}  // namespace wasmshim::wasm
