// Isolation through the real containerd and ctr: namespaces, pivot_root,
// cgroup limits and metrics, seccomp, all from the spec containerd writes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e/containerd_fixture.h"
#include "support/ctr_events.h"

namespace wasmshim::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class IsolationE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { containerd_ = new Containerd(); }
  static void TearDownTestSuite() {
    delete containerd_;
    containerd_ = nullptr;
    // The tasks' cgroups went with them; their common parent is ours.
    shell("sh -c 'rmdir /sys/fs/cgroup/*/wasmshim-e2e'");
  }
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "containerd needs root";
    ASSERT_TRUE(containerd_->ready()) << containerd_->error();
  }
  static Containerd& containerd() { return *containerd_; }

  // A bundle-less run: `ctr run --config` with containerd's default spec,
  // changed by `edit`, over a rootfs directory holding the demo module.
  CommandResult run_with_spec(const std::string& id, const std::vector<std::string>& args,
                              const std::function<void(json&)>& edit, const std::string& flags = "",
                              bool detach = false, bool fresh_module = false) {
    const fs::path dir = fs::path(containerd().root()) / ("spec-" + id);
    fs::create_directories(dir / "rootfs");
    fs::copy_file(WASMSHIM_DEMO_WASM, dir / "rootfs" / "demo.wasm",
                  fs::copy_options::overwrite_existing);
    if (fresh_module) {
      // A custom section (id 0: size, name, payload) with this run's own
      // bytes: the same program under a digest no cache has seen.
      const std::string name = "wasmshim-test";
      const std::string payload =
          std::to_string(::getpid()) + "-" + std::to_string(::time(nullptr));
      std::ofstream module(dir / "rootfs" / "demo.wasm", std::ios::binary | std::ios::app);
      module << '\0' << static_cast<char>(1 + name.size() + payload.size())
             << static_cast<char>(name.size()) << name << payload;
    }
    json spec = json::parse(containerd().ctr("oci spec").output);
    spec["root"]["path"] = (dir / "rootfs").string();
    spec["process"]["args"] = args;
    spec["linux"]["cgroupsPath"] = "/wasmshim-e2e/" + id;
    edit(spec);
    std::ofstream(dir / "config.json") << spec.dump(2);
    return containerd().ctr("run " + std::string(detach ? "-d " : "--rm ") + flags +
                            " --runtime io.containerd.wasmshim.v1 --config " +
                            (dir / "config.json").string() + " " + id);
  }

  static bool wait_for_task(const std::string& id, const std::string& state) {
    for (int i = 0; i < 200; ++i) {
      std::istringstream lines(containerd().ctr("task ls").output);
      std::string line;
      while (std::getline(lines, line)) {
        if (line.rfind(id + " ", 0) == 0 && line.find(state) != std::string::npos) {
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  static Containerd* containerd_;
};

Containerd* IsolationE2E::containerd_ = nullptr;

TEST_F(IsolationE2E, TheGuestIsPidOneInItsOwnRootfs) {
  auto stat = containerd().run("--rm", "pid-one", "/demo.wasm read /proc/self/stat");
  ASSERT_EQ(stat.status, 0) << stat.output;
  EXPECT_EQ(stat.output.rfind("1 (", 0), 0u) << stat.output;
  // Its mount table is the container's: the rootfs as "/", the spec's
  // mounts, and none of the host's (containerd's state, this build tree).
  auto mounts = containerd().run("--rm", "own-mounts", "/demo.wasm read /proc/self/mountinfo");
  ASSERT_EQ(mounts.status, 0) << mounts.output;
  EXPECT_NE(mounts.output.find(" / / "), std::string::npos) << mounts.output;
  EXPECT_NE(mounts.output.find(" /proc "), std::string::npos) << mounts.output;
  EXPECT_EQ(mounts.output.find(" " + containerd().root()), std::string::npos) << mounts.output;
  EXPECT_EQ(mounts.output.find(" /work"), std::string::npos) << mounts.output;
  EXPECT_EQ(mounts.output.find(" /usr"), std::string::npos) << mounts.output;
  // Masked (the spec's maskedPaths): the host's timer list reads as nothing.
  ASSERT_FALSE(shell("cat /proc/timer_list").output.empty());
  auto masked = containerd().run("--rm", "masked", "/demo.wasm read /proc/timer_list");
  EXPECT_EQ(masked.status, 0) << masked.output;
  EXPECT_EQ(masked.output, "");
  // Read-only (readonlyPaths): /proc/sys cannot be written.
  auto sysctl = containerd().run("--rm", "ro-sys", "/demo.wasm write /proc/sys/kernel/hostname x");
  EXPECT_EQ(sysctl.status, 1) << sysctl.output;
  EXPECT_NE(sysctl.output.find("Read-only file system"), std::string::npos) << sysctl.output;
}

TEST_F(IsolationE2E, TheHostnameIsTheSpecs) {
  auto result = run_with_spec("named", {"/demo.wasm", "read", "/proc/sys/kernel/hostname"},
                              [](json& spec) { spec["hostname"] = "wasm-box"; });
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(result.output, "wasm-box\n");
  char host[256] = {};
  ::gethostname(host, sizeof(host));
  EXPECT_STRNE(host, "wasm-box");
}

TEST_F(IsolationE2E, SysctlsAreSetInTheContainersNamespaces) {
  // A network sysctl, set to the opposite of the host's: it changes in the
  // container's own network namespace only.
  const std::string host = shell("cat /proc/sys/net/ipv4/ip_forward").output;
  const std::string wanted = host == "1\n" ? "0" : "1";
  auto result = run_with_spec("sysctl", {"/demo.wasm", "read", "/proc/sys/net/ipv4/ip_forward"},
                              [&](json& spec) {
                                spec["linux"]["sysctl"] = {{"net.ipv4.ip_forward", wanted}};
                              });
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(result.output, wanted + "\n");
  EXPECT_EQ(shell("cat /proc/sys/net/ipv4/ip_forward").output, host);
}

TEST_F(IsolationE2E, IdsCapabilitiesRlimitsAndNoNewPrivs) {
  auto status =
      run_with_spec("restricted", {"/demo.wasm", "read", "/proc/self/status"}, [](json& spec) {
        spec["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {5}}};
        spec["process"]["noNewPrivileges"] = true;
        for (const char* set : {"bounding", "effective", "permitted"}) {
          spec["process"]["capabilities"][set] = {"CAP_KILL"};
        }
        spec["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 64}, {"hard", 128}}};
      });
  ASSERT_EQ(status.status, 0) << status.output;
  EXPECT_NE(status.output.find("Uid:\t1000\t1000\t1000\t1000"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("Gid:\t1000\t1000\t1000\t1000"), std::string::npos);
  EXPECT_NE(status.output.find("Groups:\t5"), std::string::npos);
  // CAP_KILL is capability 5.
  EXPECT_NE(status.output.find("CapEff:\t0000000000000020"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("CapBnd:\t0000000000000020"), std::string::npos);
  EXPECT_NE(status.output.find("NoNewPrivs:\t1"), std::string::npos);
  auto limits =
      run_with_spec("limited-files", {"/demo.wasm", "read", "/proc/self/limits"}, [](json& spec) {
        spec["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 64}, {"hard", 128}}};
      });
  ASSERT_EQ(limits.status, 0) << limits.output;
  EXPECT_NE(limits.output.find("Max open files            64                   128"),
            std::string::npos)
      << limits.output;
}

TEST_F(IsolationE2E, MemoryLimitBoundsGuestGrowth) {
  // 48 MiB for the whole container: growth by 100 fails inside Wasm, the
  // guest sees it and exits on its own (status 1, not an OOM kill's 137).
  auto limited = containerd().run("--rm --memory-limit " + std::to_string(48 << 20), "limited",
                                  "/demo.wasm grow 100");
  EXPECT_EQ(limited.status, 1) << limited.output;
  long got = -1;
  std::sscanf(limited.output.c_str(), "memory.grow failed after %ld MiB", &got);
  EXPECT_GT(got, 8) << limited.output;
  EXPECT_LT(got, 48) << limited.output;
  auto unlimited = containerd().run("--rm", "unlimited", "/demo.wasm grow 100");
  EXPECT_EQ(unlimited.status, 0) << unlimited.output;
  EXPECT_EQ(unlimited.output, "grew 100 MiB\n");
}

TEST_F(IsolationE2E, AnOomKillSendsContainerdItsEvent) {
  // A limit below what the engine's own process needs to compile a module:
  // the kernel's OOM killer ends it before any guest runs, and containerd
  // hears of it.
  ChildProcess events = ctr_events(containerd().socket());
  std::string seen;
  ASSERT_TRUE(subscribed(events, containerd().socket(), seen)) << seen;
  // The module is one no cache holds (a custom section of its own), so the
  // container must translate and compile it, which takes more than 3 MiB.
  auto result = run_with_spec(
      "starved", {"/demo.wasm", "echo", "never"},
      [](json& spec) {
        spec["linux"]["resources"]["memory"] = {{"limit", 3 << 20}};
      },
      "", false,
      /*fresh_module=*/true);
  EXPECT_EQ(result.status, 137) << result.output;
  EXPECT_TRUE(read_until(events, {"/tasks/delete", "\"container_id\":\"starved\""}, seen)) << seen;
  events.signal(SIGTERM);
  events.wait();
  EXPECT_NE(seen.find("/tasks/oom"), std::string::npos) << seen;
  EXPECT_LT(seen.find("/tasks/oom"), seen.find("/tasks/exit")) << seen;
}

TEST_F(IsolationE2E, AJitRunLeavesItsAotBuildToTheShim) {
  // A module no cache holds: the isolated container runs it with jit and
  // cannot build the aot object itself (its pid namespace ends with it),
  // so the shim starts that build once the container has exited.
  auto result = run_with_spec(
      "aot-after-jit", {"/demo.wasm", "echo", "hi"}, [](json&) {}, "", false,
      /*fresh_module=*/true);
  ASSERT_EQ(result.status, 0) << result.output;
  // The object's name is the same in any cache: learn it from a compile
  // into a scratch one, then wait for the shim's build to publish it.
  const fs::path module = fs::path(containerd().root()) / "spec-aot-after-jit/rootfs/demo.wasm";
  const fs::path scratch = fs::path(containerd().root()) / "scratch-cache";
  auto compiled = shell("env WASMSHIM_CACHE_DIR=" + scratch.string() + " " +
                        std::string(WASMSHIM_BIN_DIR) + "/wasmshim compile " + module.string());
  ASSERT_EQ(compiled.status, 0) << compiled.output;
  std::string name = compiled.output;
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) {
    name.pop_back();
  }
  const fs::path object = fs::path(containerd().root()) / "cache" / fs::path(name).filename();
  bool built = false;
  for (int i = 0; i < 1200 && !built; ++i) {  // the shim's build is a nice'd cc -O2
    built = fs::exists(object);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(built) << "the shim did not build " << object;
}

TEST_F(IsolationE2E, MetricsReportTheCgroup) {
  auto started = containerd().run("-d --memory-limit " + std::to_string(64 << 20), "measured",
                                  "/demo.wasm daemon");
  ASSERT_EQ(started.status, 0) << started.output;
  ASSERT_TRUE(wait_for_task("measured", "RUNNING"));
  auto metrics = containerd().ctr("task metrics measured");
  EXPECT_EQ(metrics.status, 0) << metrics.output;
  auto value_of = [&](const std::string& name) -> long long {
    const auto at = metrics.output.find(name);
    if (at == std::string::npos) {
      return -1;
    }
    return std::atoll(metrics.output.c_str() +
                      metrics.output.find_first_of("0123456789", at + name.size()));
  };
  EXPECT_GT(value_of("memory.usage_in_bytes"), 0) << metrics.output;
  EXPECT_EQ(value_of("memory.limit_in_bytes"), 64 << 20) << metrics.output;
  EXPECT_GT(value_of("cpuacct.usage"), 0) << metrics.output;
  EXPECT_GE(value_of("pids.current"), 1) << metrics.output;
  containerd().ctr("task kill -s SIGKILL measured");
  ASSERT_TRUE(wait_for_task("measured", "STOPPED"));
  EXPECT_EQ(containerd().ctr("task delete measured").status, 0);
  EXPECT_EQ(containerd().ctr("container delete measured").status, 0);
  // The cgroup goes with the task.
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/default/measured"));
}

TEST_F(IsolationE2E, PidsLimitHolds) {
  auto started = run_with_spec(
      "few-pids", {"/demo.wasm", "sleep", "30"},
      [](json& spec) {
        spec["linux"]["resources"]["pids"] = {{"limit", 3}};
      },
      "", true);
  ASSERT_EQ(started.status, 0) << started.output;
  ASSERT_TRUE(wait_for_task("few-pids", "RUNNING"));
  // The container's process and its guest thread hold 2 of the 3; a shell
  // that joins the cgroup is the third, and cannot start a fourth.
  const std::string cgroup = "/sys/fs/cgroup/pids/wasmshim-e2e/few-pids";
  const std::string procs = cgroup + "/cgroup.procs";
  // Once the guest runs, its thread is there too.
  for (int i = 0; i < 100 && shell("cat " + cgroup + "/pids.current").output != "2\n"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(shell("cat " + cgroup + "/pids.current").output, "2\n");
  auto forked = shell("sh -c " + quote("echo $$ > " + procs + " && /bin/true && echo forked"));
  EXPECT_EQ(forked.output.find("forked"), std::string::npos) << forked.output;
  EXPECT_NE(forked.output.find("fork"), std::string::npos) << forked.output;
  auto metrics = containerd().ctr("task metrics few-pids");
  EXPECT_NE(metrics.output.find("pids.limit"), std::string::npos) << metrics.output;
  containerd().ctr("task kill -s SIGKILL few-pids");
  ASSERT_TRUE(wait_for_task("few-pids", "STOPPED"));
  auto deleted = containerd().ctr("task delete few-pids");
  EXPECT_EQ(deleted.status, 0) << deleted.output;
  EXPECT_EQ(containerd().ctr("container delete few-pids").status, 0);
}

TEST_F(IsolationE2E, SeccompProfileIsApplied) {
  // The default profile (containerd's) lets the engine run; the guest's
  // /proc/self/status shows the filter.
  auto status = containerd().run("--rm --seccomp", "filtered", "/demo.wasm read /proc/self/status");
  ASSERT_EQ(status.status, 0) << status.output;
  EXPECT_NE(status.output.find("Seccomp:\t2"), std::string::npos) << status.output;
  // A profile denying what the engine never needs but the guest's file
  // access uses (openat2, behind WASI path_open): the guest is refused.
  const std::string profile = containerd().root() + "/deny-openat2.json";
  std::ofstream(profile)
      << R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
    "syscalls":[{"names":["openat2"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]})";
  auto denied = containerd().run("--rm --seccomp --seccomp-profile " + profile, "no-open",
                                 "/demo.wasm read /data/in.txt");
  EXPECT_EQ(denied.status, 1) << denied.output;
  EXPECT_NE(denied.output.find("not permitted"), std::string::npos) << denied.output;
  auto allowed = containerd().run("--rm --seccomp", "open-ok", "/demo.wasm read /data/in.txt");
  EXPECT_EQ(allowed.output, "data from the image\n");
}

TEST_F(IsolationE2E, AProfileThatBreaksTheEngineFailsAtCreate) {
  const std::string profile = containerd().root() + "/no-mmap.json";
  std::ofstream(profile) << R"({"defaultAction":"SCMP_ACT_ALLOW",
    "syscalls":[{"names":["mmap","munmap"],"action":"SCMP_ACT_ERRNO"}]})";
  auto result = containerd().run("--rm --seccomp --seccomp-profile " + profile, "broken",
                                 "/demo.wasm echo never");
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.output.find("linux.seccomp denies mmap, munmap"), std::string::npos)
      << result.output;
  EXPECT_EQ(result.output.find("never"), std::string::npos);
  // The shim and the other containers are fine.
  EXPECT_EQ(containerd().run("--rm", "after-broken", "/demo.wasm echo fine").output, "fine\n");
}

}  // namespace
}  // namespace wasmshim::testing
