#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>

#include "spec_error.h"
#include "wasmshim/container/oci_spec.h"

namespace wasmshim::container {
namespace {

std::string with_linux(const std::string& linux_json) {
  return R"({"process":{"args":["a.wasm"]},"linux":)" + linux_json + "}";
}

std::string with_process(const std::string& fields) {
  return R"({"process":{"args":["a.wasm"],)" + fields + "}}";
}

TEST(LinuxSpec, ReadsWhatContainerdWrites) {
  auto spec = parse_oci_spec(R"({
    "process": {
      "args": ["/demo.wasm"],
      "user": {"uid": 1000, "gid": 100, "additionalGids": [5, 6]},
      "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
      "noNewPrivileges": true,
      "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"],
                       "permitted": ["CAP_KILL"]}
    },
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}],
    "linux": {
      "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
                     {"type": "network", "path": "/var/run/netns/cni-1"}],
      "cgroupsPath": "/default/c1",
      "resources": {"memory": {"limit": 67108864}, "cpu": {"shares": 512, "quota": 50000,
                    "period": 100000}, "pids": {"limit": 16}},
      "maskedPaths": ["/proc/kcore"],
      "readonlyPaths": ["/proc/sys"],
      "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                  "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                               {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                                "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}
    }
  })",
                             "/b");
  EXPECT_EQ(spec.process.user.uid, 1000u);
  EXPECT_EQ(spec.process.user.gid, 100u);
  EXPECT_EQ(spec.process.user.additional_gids, (std::vector<gid_t>{5, 6}));
  ASSERT_EQ(spec.process.rlimits.size(), 1u);
  EXPECT_EQ(spec.process.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(spec.process.rlimits[0].soft, 512u);
  EXPECT_TRUE(spec.process.no_new_privileges);
  EXPECT_TRUE(spec.process.capabilities.present);
  EXPECT_EQ(spec.process.capabilities.bounding, (std::vector<int>{5, 0}));
  ASSERT_EQ(spec.mounts.size(), 2u);
  EXPECT_EQ(spec.mounts[1].options.size(), 4u);
  ASSERT_TRUE(spec.linux);
  ASSERT_EQ(spec.linux->namespaces.size(), 5u);
  EXPECT_EQ(spec.linux->namespaces[0].clone_flag, CLONE_NEWPID);
  EXPECT_EQ(find_namespace(spec, "network")->path, "/var/run/netns/cni-1");
  EXPECT_EQ(find_namespace(spec, "cgroup"), nullptr);
  EXPECT_EQ(spec.linux->cgroups_path, "/default/c1");
  EXPECT_EQ(spec.linux->resources.memory_limit, 67108864);
  EXPECT_EQ(spec.linux->resources.cpu_shares, 512u);
  EXPECT_EQ(spec.linux->resources.cpu_quota, 50000);
  EXPECT_EQ(spec.linux->resources.pids_limit, 16);
  EXPECT_EQ(spec.linux->masked_paths, (std::vector<std::string>{"/proc/kcore"}));
  ASSERT_TRUE(spec.linux->seccomp);
  EXPECT_EQ(spec.linux->seccomp->syscalls.size(), 2u);
  EXPECT_EQ(spec.linux->seccomp->syscalls[1].args[0].value, 8u);
}

TEST(LinuxSpec, NoLinuxObjectMeansNoIsolation) {
  auto spec = parse_oci_spec(R"({"process":{"args":["a.wasm"]}})", "/b");
  EXPECT_FALSE(spec.linux);
  EXPECT_EQ(find_namespace(spec, "pid"), nullptr);
}

TEST(LinuxSpec, NamesWhatIsWrong) {
  auto has = [](const std::string& json, const std::string& part) {
    const std::string error = error_of(json);
    EXPECT_NE(error.find(part), std::string::npos) << "error: \"" << error << "\"";
  };
  has(with_linux(R"({"namespaces":[{"type":"time-travel"}]})"), "unknown type \"time-travel\"");
  has(with_linux(R"({"namespaces":[{"type":"pid"},{"type":"pid"}]})"), "\"pid\" twice");
  has(with_linux(R"({"namespaces":"pid"})"), "linux.namespaces must be an array");
  has(with_linux(R"({"resources":{"memory":{"limit":"64m"}}})"), "linux.resources.memory.limit");
  has(with_linux(R"({"resources":{"pids":{"limit":1.5}}})"), "linux.resources.pids.limit");
  has(with_linux(R"({"seccomp":{"syscalls":[]}})"), "defaultAction is missing");
  has(with_linux(R"({"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[]}]}})"),
      "needs names and an action");
  has(with_linux(R"({"cgroupsPath":7})"), "linux.cgroupsPath must be a string");
  has(with_process(R"("rlimits":[{"type":"RLIMIT_SPEED","soft":1,"hard":1}])"),
      "unknown type \"RLIMIT_SPEED\"");
  has(with_process(R"("rlimits":[{"type":"RLIMIT_NOFILE","soft":9,"hard":1}])"),
      "soft is above hard");
  has(with_process(R"("capabilities":{"bounding":["CAP_FLY"]})"), "unknown capability \"CAP_FLY\"");
  has(with_process(R"("user":{"uid":-1})"), "process.user.uid");
  has(with_process(R"("noNewPrivileges":"yes")"), "process.noNewPrivileges");
  has(R"({"process":{"args":["a"]},"mounts":[{"destination":"proc"}]})",
      "must be an absolute path");
}

}  // namespace
}  // namespace wasmshim::container
