// Namespaces, the rootfs and seccomp, for real: the tests run as root (CI
// does) and each change happens in a child process.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "../seccomp_filter.h"
#include "capture.h"
#include "in_child.h"
#include "wasmshim/container/setup.h"
#include "wasmshim/container/spawn.h"

namespace wasmshim::container {
namespace {

namespace fs = std::filesystem;

OciNamespace new_namespace(const std::string& type, int flag) {
  return {flag, type, ""};
}

TEST(Spawn, NewNamespacesMakeTheProcessPidOneWithItsOwnHostname) {
  SpawnRequest request;
  request.path = "/bin/sh";
  request.argv = {"sh", "-c",
                  "echo pid=$$; hostname inside-ns; hostname; ip link 2>/dev/null | "
                  "grep -c '^[0-9]' || cat /proc/net/dev | tail -n +3 | wc -l"};
  request.namespaces = {
      new_namespace("pid", CLONE_NEWPID),     new_namespace("uts", CLONE_NEWUTS),
      new_namespace("network", CLONE_NEWNET), new_namespace("ipc", CLONE_NEWIPC),
      new_namespace("mount", CLONE_NEWNS),    new_namespace("cgroup", CLONE_NEWCGROUP)};
  char host_name[256] = {};
  ::gethostname(host_name, sizeof(host_name));
  const std::string text = run_and_capture(request);
  EXPECT_NE(text.find("pid=1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("inside-ns\n"), std::string::npos) << text;
  // Only the loopback device in a new network namespace.
  EXPECT_NE(text.find("\n1\n"), std::string::npos) << text;
  char after[256] = {};
  ::gethostname(after, sizeof(after));
  EXPECT_STREQ(host_name, after);
}

TEST(Spawn, JoinsANamespaceByPath) {
  // Join this process's own uts namespace: the child sees our hostname.
  SpawnRequest request;
  request.path = "/bin/sh";
  request.argv = {"sh", "-c", "readlink /proc/self/ns/uts"};
  request.namespaces = {{CLONE_NEWUTS, "uts", "/proc/self/ns/uts"}};
  char own[64] = {};
  ASSERT_GT(::readlink("/proc/self/ns/uts", own, sizeof(own) - 1), 0);
  EXPECT_EQ(run_and_capture(request), std::string(own) + "\n");
}

TEST(Spawn, NamesWhatFailed) {
  SpawnRequest request;
  request.path = "/bin/true";
  request.argv = {"true"};
  request.namespaces = {{CLONE_NEWNET, "network", "/nonexistent/netns"}};
  try {
    spawn_container_process(request);
    FAIL() << "expected an error";
  } catch (const ContainerSetupError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/netns"), std::string::npos) << e.what();
  }
  request.namespaces = {{CLONE_NEWUSER, "user", ""}};
  EXPECT_THROW(spawn_container_process(request), ContainerSetupError);
  request.namespaces.clear();
  request.path = "/nonexistent/binary";
  try {
    spawn_container_process(request);
    FAIL() << "expected an error";
  } catch (const ContainerSetupError& e) {
    EXPECT_NE(std::string(e.what()).find("exec"), std::string::npos) << e.what();
  }
}

class Rootfs : public ::testing::Test {
 protected:
  void SetUp() override {
    bundle_ = fs::temp_directory_path() / ("wasmshim-rootfs-" + std::to_string(::getpid()));
    fs::create_directories(bundle_ / "rootfs" / "etc");
    std::ofstream(bundle_ / "rootfs" / "etc" / "inside") << "in the container\n";
    std::ofstream(bundle_ / "rootfs" / "secret") << "hidden\n";
    std::ofstream(bundle_ / "host-only") << "host\n";
  }
  void TearDown() override { fs::remove_all(bundle_); }
  fs::path bundle_;
};

TEST_F(Rootfs, PivotsMountsMasksAndMakesReadOnly) {
  OciSpec spec;
  spec.root_path = (bundle_ / "rootfs").string();
  spec.root_readonly = true;
  spec.mounts = {{"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
                 {"/dev", "tmpfs", "tmpfs", {"nosuid", "mode=755", "size=64k"}},
                 {"/scratch", "tmpfs", "tmpfs", {"size=64k"}},
                 {"/data", "bind", (bundle_ / "host-only").string(), {"rbind", "ro"}}};
  spec.linux.emplace();
  spec.linux->masked_paths = {"/secret", "/proc/kcore"};
  spec.linux->readonly_paths = {"/proc/sys"};
  const int rc = in_child([&] {
    if (::unshare(CLONE_NEWNS) != 0) {
      return 10;
    }
    enter_rootfs(spec);
    int failures = 0;
    auto check = [&](bool ok, int bit) { failures |= ok ? 0 : bit; };
    check(::access("/etc/inside", R_OK) == 0, 1);
    check(::access(bundle_.c_str(), F_OK) != 0, 2);    // the host's tree is gone
    check(::access("/proc/self/stat", R_OK) == 0, 4);  // /proc mounted
    check(::access("/dev/null", W_OK) == 0, 8);        // devices on a fresh /dev
    std::ifstream secret("/secret");
    std::string line;
    check(!std::getline(secret, line), 16);                      // masked: empty
    check(::mkdir("/newdir", 0755) != 0 && errno == EROFS, 32);  // read-only root
    std::ofstream("/scratch/x") << "tmpfs is writable\n";
    check(::access("/scratch/x", F_OK) == 0, 64);
    std::ifstream data("/data");
    check(std::getline(data, line) && line == "host", 128);       // bind mount
    check(::open("/data", O_WRONLY) < 0 && errno == EROFS, 256);  // ro bind
    return failures;
  });
  EXPECT_EQ(rc, 0) << "failed checks (bits): " << rc;
  // The host's own view is untouched.
  EXPECT_TRUE(fs::exists(bundle_ / "host-only"));
  EXPECT_FALSE(fs::exists(bundle_ / "rootfs" / "scratch" / "x"));
}

TEST_F(Rootfs, MountFailuresNameTheMount) {
  OciSpec spec;
  spec.root_path = (bundle_ / "rootfs").string();
  spec.mounts = {{"/data", "bind", "/nonexistent/source", {"rbind"}}};
  const int rc = in_child([&] {
    if (::unshare(CLONE_NEWNS) != 0) {
      return 10;
    }
    try {
      enter_rootfs(spec);
    } catch (const ContainerSetupError& e) {
      return std::string(e.what()).find("/nonexistent/source") != std::string::npos ? 0 : 2;
    }
    return 1;
  });
  EXPECT_EQ(rc, 0);
}

OciSeccomp profile(const std::string& default_action, std::vector<OciSeccompRule> rules) {
  OciSeccomp seccomp;
  seccomp.default_action = default_action;
  seccomp.architectures = {"SCMP_ARCH_X86_64"};
  seccomp.syscalls = std::move(rules);
  return seccomp;
}

TEST(Seccomp, AProfileThatBreaksTheEngineIsNamedAtCheck) {
  auto breaking = profile("SCMP_ACT_ALLOW", {{{"mmap", "futex"}, "SCMP_ACT_ERRNO", 1, {}}});
  try {
    check_seccomp(breaking);
    FAIL() << "expected an error";
  } catch (const ContainerSetupError& e) {
    EXPECT_NE(std::string(e.what()).find("denies mmap, futex"), std::string::npos) << e.what();
  }
  // Deny by default but allow what the engine needs: fine.
  std::vector<std::string> needed = engine_syscalls();
  needed.emplace_back("clone3");
  EXPECT_NO_THROW(check_seccomp(profile("SCMP_ACT_ERRNO", {{needed, "SCMP_ACT_ALLOW", {}, {}}})));
  // Denying syscalls the engine does not need is fine too.
  EXPECT_NO_THROW(
      check_seccomp(profile("SCMP_ACT_ALLOW", {{{"mkdir", "ptrace"}, "SCMP_ACT_ERRNO", {}, {}}})));
}

TEST(Seccomp, BadProfilesAreNamed) {
  auto message = [](const OciSeccomp& seccomp) {
    try {
      check_seccomp(seccomp);
    } catch (const ContainerSetupError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message(profile("SCMP_ACT_DANCE", {})).find("SCMP_ACT_DANCE"), std::string::npos);
  auto bad_arch = profile("SCMP_ACT_ALLOW", {});
  bad_arch.architectures = {"SCMP_ARCH_PDP11"};
  EXPECT_NE(message(bad_arch).find("SCMP_ARCH_PDP11"), std::string::npos);
  OciSeccompRule rule{{"personality"}, "SCMP_ACT_ERRNO", {}, {{0, 8, 0, "SCMP_CMP_ROUGHLY"}}};
  EXPECT_NE(message(profile("SCMP_ACT_ALLOW", {rule})).find("SCMP_CMP_ROUGHLY"), std::string::npos);
}

TEST(Seccomp, ALoadedFilterDeniesWhatItSays) {
  auto deny_mkdir = profile("SCMP_ACT_ALLOW", {{{"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", 13, {}}});
  const fs::path dir =
      fs::temp_directory_path() / ("wasmshim-seccomp-" + std::to_string(::getpid()));
  const int rc = in_child([&] {
    SeccompFilter filter(deny_mkdir);
    filter.load();
    const bool denied = ::mkdir(dir.c_str(), 0755) != 0 && errno == EACCES;
    const bool others_work = ::getpid() > 0;
    return denied && others_work ? 0 : 1;
  });
  EXPECT_EQ(rc, 0);
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace wasmshim::container
