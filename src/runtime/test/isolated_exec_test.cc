// A native container with namespaces and a root of its own (the static
// native tool the only program in it), and a process exec'd into it: the
// exec must join the container's namespaces and root, as kubelet's probes
// and `kubectl exec` expect. The test has no zygote: this is the path the
// shim takes when its zygote has gone (clone, then exec of the shim binary,
// which must happen before the container's mount namespace is joined).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/temp_dir.h"
#include "wasmshim/runtime/container_instance.h"
#include "wasmshim/ttrpc/status.h"

namespace wasmshim::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// An empty file at `path`, for a process's output to go to.
void touch(const std::filesystem::path& path) {
  std::ofstream file(path);
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool wait_for_text(const fs::path& path, const std::string& text) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (read_all(path) != text) {
    if (std::chrono::steady_clock::now() > give_up) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(IsolatedNativeContainer, ExecJoinsTheContainersNamespacesAndRoot) {
  testing::TempDir dir;
  const fs::path rootfs = dir.path() / "rootfs";
  fs::create_directories(rootfs);
  fs::copy_file(WASMSHIM_NATIVE_TOOL, rootfs / "native_tool");
  fs::permissions(rootfs / "native_tool",
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  const json spec = {
      {"ociVersion", "1.0.2"},
      {"process", {{"args", {"/native_tool", "sleep", "1000"}}, {"cwd", "/"}}},
      {"root", {{"path", "rootfs"}}},
      {"hostname", "isolated"},
      {"linux",
       {{"namespaces",
         {{{"type", "pid"}}, {{"type", "mount"}}, {{"type", "ipc"}}, {{"type", "uts"}}}}}}};
  std::ofstream(dir.path() / "config.json") << spec.dump();
  for (const char* name : {"stdout", "exec-out", "exec-err"}) {
    touch(dir.path() / name);
  }
  shim::InstanceConfig config;
  config.id = "isolated";
  config.bundle = dir.path().string();
  config.namespace_name = "runtime-test";
  config.stdout_path = (dir.path() / "stdout").string();
  auto instance = ContainerInstance::create(config);
  instance->start();
  ASSERT_TRUE(wait_for_text(dir.path() / "stdout", "native_tool: sleeping\n"));

  shim::ExecConfig exec_config;
  exec_config.exec_id = "probe";
  exec_config.process_json =
      json{{"args", {"/native_tool", "echo", "inside"}}, {"cwd", "/"}}.dump();
  exec_config.stdout_path = (dir.path() / "exec-out").string();
  exec_config.stderr_path = (dir.path() / "exec-err").string();
  auto exec = instance->exec(exec_config);
  exec->start();
  // The host has no /native_tool: it ran inside the container's root.
  EXPECT_EQ(exec->wait().code, 0U) << read_all(dir.path() / "exec-err");
  EXPECT_EQ(read_all(dir.path() / "exec-out"), "inside\n");

  // What the host has and the container's root has not is not there.
  exec_config.exec_id = "host-shell";
  exec_config.process_json = json{{"args", {"/bin/sh"}}, {"cwd", "/"}}.dump();
  try {
    instance->exec(exec_config);
    ADD_FAILURE() << "the host's /bin/sh was found in the container";
  } catch (const ttrpc::StatusError& e) {
    EXPECT_EQ(e.status().code(), ttrpc::StatusCode::kNotFound) << e.status().message();
  }

  instance->kill(SIGKILL);
  EXPECT_EQ(instance->wait().code, 128U + SIGKILL);
}

}  // namespace
}  // namespace wasmshim::runtime
