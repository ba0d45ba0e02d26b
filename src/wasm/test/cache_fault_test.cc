// The cache under the faults an operator meets: a full disk, a read-only
// one, entries cut short or corrupted, a background build killed or refused.
// Every run gives the right output; a damaged entry is never mapped and is
// rebuilt; the log says what happened once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "support/temp_dir.h"
#include "wasmshim/wasm/engine.h"

namespace wasmshim::wasm {
namespace {

namespace fs = std::filesystem;
using wasmshim::testing::TempDir;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Replaces the file (a new inode, as a copy or an operator's editor would
// leave it): an object loaded from the old one stays as it was mapped.
void write_file(const fs::path& path, const std::string& text) {
  const fs::path next = path.string() + ".new";
  std::ofstream(next, std::ios::binary | std::ios::trunc) << text;
  fs::rename(next, path);
}

// Mounts made here vanish with this process: the test runs in a mount
// namespace of its own, private from the host's.
bool in_private_mount_namespace() {
  static const bool done = ::unshare(CLONE_NEWNS) == 0 &&
                           ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
  return done;
}

class CacheFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(in_private_mount_namespace()) << "needs root (mount namespaces)";
    cache_ = dir_.path() / "cache";
    fs::create_directory(cache_);
  }
  void TearDown() override {
    ::unsetenv("WASMSHIM_CC");  // NOLINT(concurrency-mt-unsafe): tests run one at a time
    wait_for_builds();
    while (::umount2(cache_.c_str(), MNT_DETACH) == 0) {
    }
  }

  EngineOptions options(Tier tier, bool background = false) {
    EngineOptions o;
    o.tier = tier;
    o.cache_dir = cache_.string();
    o.background_aot = background;
    o.log = [this](std::string_view line) { log_.emplace_back(line); };
    return o;
  }

  // demo.wasm's `echo hello cache` through the engine: its stdout.
  std::string echo(const PreparedModule& prepared) {
    const fs::path out = dir_.path() / "stdout";
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0);
    const RunResult result =
        run(prepared, WasiConfig{{"demo.wasm", "echo", "hello", "cache"}, {}, {}, 0, fd, 2},
            EngineOptions{});
    ::close(fd);
    EXPECT_EQ(result.exit_code, 0);
    return read_file(out);
  }

  std::vector<fs::path> entries(const std::string& extension) const {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(cache_)) {
      const std::string name = entry.path().filename().string();
      if (entry.path().extension() == extension && name[0] != '.') {
        out.push_back(entry.path());
      }
    }
    return out;
  }
  std::vector<fs::path> temporaries() const {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(cache_)) {
      if (entry.path().filename().string().find(".tmp.") != std::string::npos) {
        out.push_back(entry.path());
      }
    }
    return out;
  }
  int log_lines_with(const std::string& text) const {
    int count = 0;
    for (const std::string& line : log_) {
      count += line.find(text) != std::string::npos ? 1 : 0;
    }
    return count;
  }
  std::string log_text() const {
    std::string text;
    for (const std::string& line : log_) {
      text += line + "\n";
    }
    return text;
  }

  // Waits for every background build to end: each holds its entry's lock
  // until it exits.
  void wait_for_builds() const {
    if (!fs::exists(cache_)) {
      return;
    }
    for (const auto& entry : fs::directory_iterator(cache_)) {
      if (entry.path().extension() == ".lock") {
        const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
          ::flock(fd, LOCK_EX);
          ::close(fd);
        }
      }
    }
  }

  void mount_tmpfs(std::uint64_t bytes) const {
    const std::string data = "size=" + std::to_string(bytes);
    ASSERT_EQ(::mount("tmpfs", cache_.c_str(), "tmpfs", 0, data.c_str()), 0)
        << std::generic_category().message(errno);
  }
  void resize_tmpfs(std::uint64_t bytes) const {
    const std::string data = "size=" + std::to_string(bytes);
    ASSERT_EQ(::mount(nullptr, cache_.c_str(), nullptr, MS_REMOUNT, data.c_str()), 0)
        << std::generic_category().message(errno);
  }
  // Fills the file system holding the cache until not one byte more fits.
  void fill_to_the_brim(const std::string& name) const {
    const int fd = ::open((cache_ / name).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    const std::string block(4096, 'x');
    for (std::size_t size = block.size(); size > 0;) {
      if (::write(fd, block.data(), size) < 0) {
        ASSERT_EQ(errno, ENOSPC);
        size /= 2;
      }
    }
    ::close(fd);
  }
  static std::uint64_t used_bytes(const fs::path& path) {
    std::uint64_t used = 0;
    for (const auto& entry : fs::directory_iterator(path)) {
      used += (fs::file_size(entry.path()) + 4095) / 4096 * 4096;
    }
    return used;
  }
  // A WASMSHIM_CC that does `behaviour` while `switch_file` exists, else
  // runs the real compiler.
  fs::path compiler_script(const std::string& behaviour) const {
    fs::path script = dir_.path() / "cc.sh";
    write_file(script, "#!/bin/sh\nif [ -e " + switch_file().string() + " ]; then\n" + behaviour +
                           "\nfi\nexec cc \"$@\"\n");
    fs::permissions(script, fs::perms::owner_all);
    write_file(switch_file(), "");
    return script;
  }
  fs::path switch_file() const { return dir_.path() / "misbehave"; }

  TempDir dir_;
  fs::path cache_;
  std::vector<std::string> log_;
};

// The sizes demo.wasm's translation and jit object take, from a cache of
// their own.
struct EntrySizes {
  std::uint64_t translation = 0;
  std::uint64_t jit_object = 0;
};
EntrySizes demo_entry_sizes() {
  TempDir scratch;
  EngineOptions o;
  o.tier = Tier::kJit;
  o.cache_dir = scratch.path().string();
  (void)prepare_file(DEMO_WASM, o);
  EntrySizes sizes;
  for (const auto& entry : fs::directory_iterator(scratch.path())) {
    if (entry.path().extension() == ".c") {
      sizes.translation = fs::file_size(entry.path());
    } else if (entry.path().extension() == ".jit") {
      sizes.jit_object = fs::file_size(entry.path());
    }
  }
  return sizes;
}

TEST_F(CacheFaultTest, AFullCacheRunsUncachedAndIsUsedOnceThereIsRoom) {
  const EntrySizes sizes = demo_entry_sizes();
  ASSERT_GT(sizes.jit_object, 16384U);
  mount_tmpfs(64 << 10);
  fill_to_the_brim("filler");
  const std::uint64_t full = used_bytes(cache_);

  // Full to the brim: nothing fits, the module runs from memory.
  EXPECT_EQ(echo(prepare_file(DEMO_WASM, options(Tier::kJit))), "hello cache\n");
  EXPECT_EQ(echo(prepare_file(DEMO_WASM, options(Tier::kJit))), "hello cache\n");
  EXPECT_TRUE(entries(".jit").empty());
  EXPECT_TRUE(temporaries().empty());
  EXPECT_EQ(log_.size(), 1U) << log_text();
  EXPECT_EQ(log_lines_with("No space left on device"), 1) << log_text();

  // Room for the translation, and for half the object: the object is
  // written short, and must be neither published nor mapped.
  const std::uint64_t translation_pages = (sizes.translation + 4095) / 4096 * 4096 + 4096;
  resize_tmpfs(full + translation_pages + sizes.jit_object / 2);
  EXPECT_EQ(echo(prepare_file(DEMO_WASM, options(Tier::kJit))), "hello cache\n");
  EXPECT_EQ(entries(".c").size(), 1U);
  EXPECT_TRUE(entries(".jit").empty());
  EXPECT_TRUE(temporaries().empty());
  PreparedModule still_short = prepare_file(DEMO_WASM, options(Tier::kJit));
  EXPECT_FALSE(still_short.report().object_from_cache);
  EXPECT_TRUE(still_short.report().c_from_cache);
  EXPECT_EQ(echo(still_short), "hello cache\n");
  EXPECT_EQ(log_.size(), 1U) << log_text();  // said once

  // Room for all: the object is cached, and the next start loads it.
  resize_tmpfs(64 << 20);
  EXPECT_EQ(echo(prepare_file(DEMO_WASM, options(Tier::kJit))), "hello cache\n");
  EXPECT_EQ(entries(".jit").size(), 1U);
  PreparedModule cached = prepare_file(DEMO_WASM, options(Tier::kJit));
  EXPECT_TRUE(cached.report().object_from_cache);
  EXPECT_EQ(echo(cached), "hello cache\n");
}

TEST_F(CacheFaultTest, ATruncatedOrCorruptedObjectIsRemovedAndRebuilt) {
  for (Tier tier : {Tier::kJit, Tier::kAot}) {
    SCOPED_TRACE(to_string(tier));
    const std::string extension = tier == Tier::kJit ? ".jit" : ".so";
    (void)prepare_file(DEMO_WASM, options(tier));
    ASSERT_EQ(entries(extension).size(), 1U);
    const fs::path object = entries(extension).front();
    const std::string whole = read_file(object);

    // Cut short, as a full disk left it before: its ELF header is there.
    write_file(object, whole.substr(0, whole.size() / 2));
    PreparedModule after_truncation = prepare_file(DEMO_WASM, options(tier));
    EXPECT_FALSE(after_truncation.report().object_from_cache);
    EXPECT_EQ(echo(after_truncation), "hello cache\n");
    EXPECT_EQ(read_file(object), whole) << "rebuilt whole";

    // One byte changed in the middle (its code): it would load, and run.
    std::string corrupted = whole;
    corrupted[corrupted.size() / 2] = static_cast<char>(corrupted[corrupted.size() / 2] ^ 0x5a);
    write_file(object, corrupted);
    PreparedModule after_corruption = prepare_file(DEMO_WASM, options(tier));
    EXPECT_FALSE(after_corruption.report().object_from_cache);
    EXPECT_EQ(echo(after_corruption), "hello cache\n");
    EXPECT_EQ(read_file(object), whole) << "rebuilt whole";

    PreparedModule again = prepare_file(DEMO_WASM, options(tier));
    EXPECT_TRUE(again.report().object_from_cache);
    EXPECT_EQ(echo(again), "hello cache\n");
    fs::remove(object);
  }
  EXPECT_EQ(log_lines_with("is damaged"), 4) << log_text();
}

TEST_F(CacheFaultTest, ACutShortTranslationIsMadeAgain) {
  (void)prepare_file(DEMO_WASM, options(Tier::kJit));
  ASSERT_EQ(entries(".c").size(), 1U);
  fs::remove(entries(".jit").front());
  const fs::path translation = entries(".c").front();
  const std::string whole = read_file(translation);
  write_file(translation, whole.substr(0, whole.size() - 100));
  PreparedModule prepared = prepare_file(DEMO_WASM, options(Tier::kJit));
  EXPECT_FALSE(prepared.report().c_from_cache);
  EXPECT_EQ(echo(prepared), "hello cache\n");
  EXPECT_EQ(read_file(translation), whole);
  EXPECT_EQ(log_lines_with("is damaged"), 1) << log_text();
}

TEST_F(CacheFaultTest, AReadOnlyCacheRunsUncachedAndSaysSoOnce) {
  ASSERT_EQ(::mount(cache_.c_str(), cache_.c_str(), nullptr, MS_BIND, nullptr), 0);
  ASSERT_EQ(::mount(nullptr, cache_.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr),
            0);
  for (Tier tier : {Tier::kJit, Tier::kAuto, Tier::kJit}) {
    PreparedModule prepared = prepare_file(DEMO_WASM, options(tier, true));
    EXPECT_EQ(prepared.tier(), "jit");
    EXPECT_FALSE(prepared.report().background_build_started);
    EXPECT_EQ(echo(prepared), "hello cache\n");
  }
  EXPECT_EQ(log_.size(), 1U) << log_text();
  EXPECT_EQ(log_lines_with("Read-only file system"), 1) << log_text();
}

TEST_F(CacheFaultTest, AKilledBuildIsTriedAgainLater) {
  // The compiler is killed (as the OOM killer would), then the build
  // process itself with it (as a reboot would).
  for (const std::string& killed :
       std::vector<std::string>{"kill -KILL $$", "kill -KILL $PPID $$"}) {
    SCOPED_TRACE(killed);
    log_.clear();
    fs::remove_all(cache_);
    fs::create_directory(cache_);
    ::setenv("WASMSHIM_CC", compiler_script(killed).c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    EngineOptions later = options(Tier::kAuto, true);
    later.aot_retry_delay = std::chrono::hours(1);
    PreparedModule first = prepare_file(DEMO_WASM, later);
    EXPECT_EQ(first.tier(), "jit");
    ASSERT_TRUE(first.report().background_build_started);
    wait_for_builds();
    EXPECT_TRUE(entries(".so").empty());

    // Within the delay: no build, one line saying why and when.
    for (int i = 0; i < 2; ++i) {
      PreparedModule waiting = prepare_file(DEMO_WASM, later);
      EXPECT_EQ(waiting.tier(), "jit");
      EXPECT_FALSE(waiting.report().background_build_started);
      EXPECT_EQ(echo(waiting), "hello cache\n");
    }
    ASSERT_EQ(log_.size(), 1U) << log_text();
    EXPECT_NE(log_[0].find("tried again in 3600 s"), std::string::npos) << log_[0];
    EXPECT_NE(log_[0].find(killed.find("PPID") == std::string::npos ? "killed by signal 9"
                                                                    : "stopped before it finished"),
              std::string::npos)
        << log_[0];

    // Once the delay has passed, it is tried again, and lands.
    fs::remove(switch_file());
    EngineOptions now = later;
    now.aot_retry_delay = std::chrono::seconds(0);
    ASSERT_TRUE(prepare_file(DEMO_WASM, now).report().background_build_started);
    wait_for_builds();
    PreparedModule landed = prepare_file(DEMO_WASM, now);
    EXPECT_EQ(landed.tier(), "aot");
    EXPECT_EQ(echo(landed), "hello cache\n");
  }
}

// As gcc 12 crashes on some translations that access memory through
// __seg_gs: a compiler that fails (the first time with a crash, the next
// with an exit status) while the flags ask for what it cannot do.
TEST_F(CacheFaultTest, ACompilerThatCrashesOnSomeFlagsStillGivesTheAotTier) {
  // Spared by -fno-tree-fre (the second attempt), or by nothing but leaving
  // __seg_gs out (the third).
  for (const std::string refused_unless : {"-fno-tree-fre", "-never-given"}) {
    SCOPED_TRACE(refused_unless);
    fs::remove_all(cache_);
    fs::create_directory(cache_);
    ::setenv("WASMSHIM_CC",  // NOLINT(concurrency-mt-unsafe): tests run one at a time
             compiler_script(
                 "case \" $* \" in *\" " + refused_unless +
                 " \"*) ;; *\" -DWASMSHIM_USE_GS \"*)\n"
                 "  echo 'internal compiler error: Segmentation fault' >&2; kill -SEGV $$;;\n"
                 "esac")
                 .c_str(),
             1);
    // In the foreground: `--tier aot`, `wasmshim compile`.
    PreparedModule now = prepare_file(DEMO_WASM, options(Tier::kAot));
    EXPECT_EQ(now.tier(), "aot");
    EXPECT_EQ(echo(now), "hello cache\n");
    fs::remove(entries(".so").front());

    // In the background, under `auto`.
    PreparedModule first = prepare_file(DEMO_WASM, options(Tier::kAuto, true));
    EXPECT_EQ(first.tier(), "jit");
    ASSERT_TRUE(first.report().background_build_started);
    wait_for_builds();
    PreparedModule later = prepare_file(DEMO_WASM, options(Tier::kAuto, true));
    EXPECT_EQ(later.tier(), "aot") << log_text();
    EXPECT_EQ(echo(later), "hello cache\n");
    EXPECT_TRUE(log_.empty()) << log_text();
  }
}

TEST_F(CacheFaultTest, ARefusedBuildIsGivenUpWithOneLineSayingSo) {
  ::setenv("WASMSHIM_CC",  // NOLINT(concurrency-mt-unsafe)
           compiler_script("echo 'error: this code is not for me' >&2; exit 1").c_str(), 1);
  EngineOptions o = options(Tier::kAuto, true);
  o.aot_retry_delay = std::chrono::seconds(0);
  int builds = 0;
  for (int i = 0; i < 5; ++i) {
    PreparedModule prepared = prepare_file(DEMO_WASM, o);
    EXPECT_EQ(prepared.tier(), "jit");
    EXPECT_EQ(echo(prepared), "hello cache\n");
    builds += prepared.report().background_build_started ? 1 : 0;
    wait_for_builds();
  }
  EXPECT_EQ(builds, 2);  // refused twice, then given up
  EXPECT_EQ(log_lines_with("stays on jit"), 1) << log_text();
  EXPECT_EQ(log_lines_with("refused"), 2) << log_text();
  EXPECT_EQ(log_.size(), 2U) << log_text();
  ASSERT_EQ(entries(".log").size(), 1U);
  EXPECT_NE(read_file(entries(".log").front()).find("not for me"), std::string::npos);
}

}  // namespace
}  // namespace wasmshim::wasm
