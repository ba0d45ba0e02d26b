#include "wasmshim/container/cgroup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "capture.h"
#include "wasmshim/container/spawn.h"

namespace wasmshim::container {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void touch(const fs::path& path, const std::string& text = "") {
  std::ofstream(path) << text;
}

// This machine's kernel has cgroup v1 controllers (a v2 tree without them),
// so the v2 code runs here against a directory laid out like cgroupfs: a
// stand-in for the kernel, named as such.
class FakeCgroupV2 : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("wasmshim-cg2-" + std::to_string(::getpid()));
    fs::create_directories(root_ / "default" / "c1");
    touch(root_ / "cgroup.controllers", "cpuset cpu io memory pids\n");
    touch(root_ / "cgroup.subtree_control");
    touch(root_ / "default" / "cgroup.controllers", "cpu memory pids\n");
    touch(root_ / "default" / "cgroup.subtree_control");
    for (const char* file :
         {"memory.max", "memory.swap.max", "cpu.weight", "cpu.max", "pids.max", "cgroup.procs"}) {
      touch(root_ / "default" / "c1" / file);
    }
    layout_.version = 2;
    layout_.unified_root = root_.string();
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
  CgroupLayout layout_;
};

TEST_F(FakeCgroupV2, WritesLimitsInV2Units) {
  OciResources resources;
  resources.memory_limit = 64 << 20;
  resources.memory_swap = 96 << 20;
  resources.cpu_shares = 1024;
  resources.cpu_quota = 50000;
  resources.cpu_period = 100000;
  resources.pids_limit = 16;
  Cgroup group = Cgroup::create(layout_, "/default/c1", resources, "unused");
  const fs::path dir = root_ / "default" / "c1";
  EXPECT_EQ(slurp(dir / "memory.max"), "67108864");
  EXPECT_EQ(slurp(dir / "memory.swap.max"), std::to_string(32 << 20));
  EXPECT_EQ(slurp(dir / "cpu.weight"), "39");
  EXPECT_EQ(slurp(dir / "cpu.max"), "50000 100000");
  EXPECT_EQ(slurp(dir / "pids.max"), "16");
  // Controllers were enabled on the way down (a plain file keeps the last).
  EXPECT_FALSE(slurp(root_ / "default" / "cgroup.subtree_control").empty());
  EXPECT_EQ(group.directories().at(""), dir.string());
}

TEST_F(FakeCgroupV2, ReadsStatsFromV2Files) {
  Cgroup group = Cgroup::create(layout_, "/default/c1", {}, "unused");
  const fs::path dir = root_ / "default" / "c1";
  touch(dir / "memory.current", "4096\n");
  touch(dir / "memory.max", "max\n");
  touch(dir / "memory.stat", "anon 100\nfile 200\n");
  touch(dir / "memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n");
  touch(dir / "cpu.stat",
        "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\n"
        "nr_throttled 1\nthrottled_usec 20\n");
  touch(dir / "pids.current", "3\n");
  touch(dir / "pids.max", "16\n");
  const CgroupStats stats = group.stats();
  EXPECT_EQ(stats.version, 2);
  EXPECT_EQ(stats.memory_usage, 4096u);
  EXPECT_EQ(stats.memory_limit, 0u);
  EXPECT_EQ(stats.memory_stat.at("file"), 200u);
  EXPECT_EQ(stats.oom_events, 2u);
  EXPECT_EQ(stats.oom_kills, 1u);
  EXPECT_EQ(group.oom_kills(), 1u);
  EXPECT_EQ(stats.cpu_usage_ns, 1'500'000u);
  EXPECT_EQ(stats.cpu_system_ns, 500'000u);
  EXPECT_EQ(stats.cpu_throttled_ns, 20'000u);
  EXPECT_EQ(stats.pids_current, 3u);
  EXPECT_EQ(stats.pids_limit, 16u);
}

TEST(Cgroup, RefusesPathsItCannotManage) {
  CgroupLayout layout;
  layout.version = 2;
  layout.unified_root = "/nonexistent";
  EXPECT_THROW(Cgroup::create(layout, "system.slice:cri:c1", {}, "x"), CgroupError);
  try {
    Cgroup::create(layout, "/a/../../etc", {}, "x");
    FAIL() << "expected an error";
  } catch (const CgroupError& e) {
    EXPECT_NE(std::string(e.what()).find("\"..\""), std::string::npos);
  }
}

TEST(Cgroup, SharesMapOntoWeights) {
  EXPECT_EQ(cpu_weight_from_shares(2), 1u);
  EXPECT_EQ(cpu_weight_from_shares(262144), 10000u);
  EXPECT_EQ(cpu_weight_from_shares(1024), 39u);
}

// The machine's real cgroup v1 hierarchies (CI runs as root here).
TEST(Cgroup, RealV1LimitsJoinAndStats) {
  const CgroupLayout layout = CgroupLayout::detect();
  if (layout.version != 1 || ::geteuid() != 0) {
    GTEST_SKIP() << "needs root and cgroup v1 controllers (this test's machine has both)";
  }
  OciResources resources;
  resources.memory_limit = 64 << 20;
  resources.pids_limit = 8;
  const std::string path = "/wasmshim-test/real-" + std::to_string(::getpid());
  Cgroup group = Cgroup::create(layout, path, resources, "unused");
  EXPECT_EQ(slurp(layout.v1_roots.at("memory") + path + "/memory.limit_in_bytes"), "67108864\n");
  EXPECT_EQ(slurp(layout.v1_roots.at("pids") + path + "/pids.max"), "8\n");
  SpawnRequest request;
  request.path = "/bin/sh";
  request.argv = {"sh", "-c", "cat /proc/self/cgroup; sleep 0.2"};
  request.cgroup = &group;
  const std::string text = run_and_capture(request);
  const CgroupStats stats = group.stats();
  EXPECT_NE(text.find("memory:" + path), std::string::npos) << text;
  EXPECT_NE(text.find("pids:" + path), std::string::npos) << text;
  EXPECT_EQ(stats.version, 1);
  EXPECT_EQ(stats.memory_limit, 64u << 20);
  EXPECT_EQ(stats.pids_limit, 8u);
  EXPECT_GT(stats.cpu_usage_ns, 0u);
  group.remove();
  EXPECT_FALSE(fs::exists(layout.v1_roots.at("memory") + path));
  for (const auto& [controller, root] : layout.v1_roots) {
    ::rmdir((root + "/wasmshim-test").c_str());
  }
}

// The kernel's own v2 tree (on this hybrid machine it holds no memory, cpu
// or pids controller, so no limits): creation, joining between clone and
// exec, the stats every v2 cgroup has, removal.
TEST(Cgroup, RealV2JoinStatsAndRemove) {
  CgroupLayout layout;
  layout.version = 2;
  layout.unified_root = CgroupLayout::detect().unified_root;
  if (layout.unified_root.empty() || ::geteuid() != 0) {
    GTEST_SKIP() << "needs root and a cgroup2 mount (this test's machine has both)";
  }
  const std::string path = "/wasmshim-test-v2-" + std::to_string(::getpid());
  Cgroup group = Cgroup::create(layout, path, {}, "unused");
  SpawnRequest request;
  request.path = "/bin/sh";
  request.argv = {"sh", "-c",
                  "cat /proc/self/cgroup; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"};
  request.cgroup = &group;
  const std::string text = run_and_capture(request);
  EXPECT_NE(text.find("0::" + path + "\n"), std::string::npos) << text;
  const CgroupStats stats = group.stats();
  EXPECT_EQ(stats.version, 2);
  EXPECT_GT(stats.cpu_usage_ns, 0u);
  group.remove();
  EXPECT_FALSE(fs::exists(layout.unified_root + path));
}

}  // namespace
}  // namespace wasmshim::container
