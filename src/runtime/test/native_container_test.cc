// Native containers through the Instance, as the shim drives them: the
// container process is this test binary in container mode (main.cc), as it
// is the shim binary under containerd. The bundles' root is the host's "/"
// and they ask for no isolation, so the programs are the host's own (sh,
// sleep): what is checked is the native exec path itself.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <tuple>

#include "support/temp_dir.h"
#include "wasmshim/container/setup.h"
#include "wasmshim/runtime/container_instance.h"
#include "wasmshim/ttrpc/status.h"

namespace wasmshim::runtime {
namespace {

using nlohmann::json;
using ttrpc::StatusCode;
using ttrpc::StatusError;

// An empty file at `path`, for a process's output to go to.
void touch(const std::filesystem::path& path) {
  std::ofstream file(path);
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class NativeContainer : public ::testing::Test {
 protected:
  // A bundle whose process is `process` (args, env, cwd), rooted at the
  // host's "/", with its stdout and stderr in files of the test directory.
  shim::InstanceConfig bundle(const json& process) {
    const json spec = {{"ociVersion", "1.0.2"}, {"process", process}, {"root", {{"path", "/"}}}};
    std::ofstream(dir_.path() / "config.json") << spec.dump();
    touch(out_path());
    touch(err_path());
    shim::InstanceConfig config;
    config.id = "native-test";
    config.bundle = dir_.path().string();
    config.namespace_name = "test";
    config.stdout_path = out_path();
    config.stderr_path = err_path();
    return config;
  }
  std::string out_path() const { return (dir_.path() / "stdout").string(); }
  std::string err_path() const { return (dir_.path() / "stderr").string(); }
  std::string out() const { return read_all(out_path()); }
  // Waits until the program has written `text` to its stdout (a positive
  // signal), for at most a minute.
  bool wait_for_output(const std::string& text) const {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (out() != text) {
      if (std::chrono::steady_clock::now() > give_up) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  std::string err() const { return read_all(err_path()); }

  // A file in the test directory, made executable.
  std::string script(const std::string& name, const std::string& text) {
    const auto path = dir_.path() / name;
    std::ofstream(path) << text;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path.string();
  }

  // The code StatusError `body` throws, and its message.
  template <class F>
  static std::pair<StatusCode, std::string> status_of(F body) {
    try {
      body();
    } catch (const StatusError& e) {
      return {e.status().code(), e.status().message()};
    }
    return {StatusCode::kOk, "no error"};
  }

  testing::TempDir dir_;
};

TEST_F(NativeContainer, RunsWithTheSpecsArgsEnvAndWorkingDirectory) {
  auto instance = ContainerInstance::create(
      bundle({{"args", {"sh", "-c", "echo $GREETING; pwd; echo \"$@\"", "sh", "one", "two words"}},
              {"env", {"PATH=/usr/bin:/bin", "GREETING=hello"}},
              {"cwd", dir_.path().string()}}));
  EXPECT_EQ(instance->program().kind, ProgramKind::native);
  EXPECT_NE(instance->start(), 0U);
  EXPECT_EQ(instance->wait().code, 0U) << err();
  EXPECT_EQ(out(), "hello\n" + dir_.path().string() + "\none two words\n");
}

TEST_F(NativeContainer, ReportsTheProgramsExitStatus) {
  auto instance = ContainerInstance::create(bundle({{"args", {"sh", "-c", "exit 7"}}}));
  instance->start();
  EXPECT_EQ(instance->wait().code, 7U);
}

TEST_F(NativeContainer, ASignalEndsItWith128PlusTheSignal) {
  auto instance = ContainerInstance::create(bundle({{"args", {"sleep", "1000"}}}));
  instance->start();
  instance->kill(SIGKILL);
  EXPECT_EQ(instance->wait().code, 128U + SIGKILL);
}

// The signal reaches the program itself: its own handler answers it.
TEST_F(NativeContainer, SignalsReachTheProgram) {
  auto instance = ContainerInstance::create(bundle(
      {{"args", {"sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.01; done"}},
       {"env", {"PATH=/bin:/usr/bin"}}}));
  instance->start();
  ASSERT_TRUE(wait_for_output("ready\n"));
  instance->kill(SIGTERM);
  EXPECT_EQ(instance->wait().code, 42U);
}

// argv goes to the program as the spec writes it, argv[0] included (not
// the path the lookup found).
TEST_F(NativeContainer, ArgvIsTheSpecsAsWritten) {
  auto instance = ContainerInstance::create(
      bundle({{"args", {"sh", "-c", "tr '\\0' ' ' < /proc/$$/cmdline", "name", "two words"}},
              {"env", {"PATH=/bin:/usr/bin"}}}));
  instance->start();
  EXPECT_EQ(instance->wait().code, 0U) << err();
  EXPECT_EQ(out(), "sh -c tr '\\0' ' ' < /proc/$$/cmdline name two words ");
}

TEST_F(NativeContainer, RunsAScriptThroughItsInterpreter) {
  const std::string path = script("entry.sh", "#!/bin/sh\necho \"script $1\"\n");
  auto instance = ContainerInstance::create(bundle({{"args", {path, "ran"}}}));
  EXPECT_EQ(instance->program().interpreter, "/bin/sh");
  instance->start();
  EXPECT_EQ(instance->wait().code, 0U) << err();
  EXPECT_EQ(out(), "script ran\n");
}

TEST_F(NativeContainer, AScriptWithAMissingInterpreterIsRefusedAtCreate) {
  const std::string path = script("entry.sh", "#!/no/such/interpreter\n");
  auto [code, message] = status_of([&] { ContainerInstance::create(bundle({{"args", {path}}})); });
  EXPECT_EQ(code, StatusCode::kNotFound);
  EXPECT_NE(message.find("is a script for /no/such/interpreter, which is not in the container's "
                         "root filesystem"),
            std::string::npos)
      << message;
}

TEST_F(NativeContainer, AProgramNotOnPathIsRefusedAtCreate) {
  auto [code, message] = status_of([&] {
    ContainerInstance::create(bundle({{"args", {"no-such-program"}}, {"env", {"PATH=/bin"}}}));
  });
  EXPECT_EQ(code, StatusCode::kNotFound);
  EXPECT_NE(message.find("no-such-program"), std::string::npos) << message;
}

TEST_F(NativeContainer, GetsItsOomScoreAdj) {
  auto instance = ContainerInstance::create(bundle({{"args", {"cat", "/proc/self/oom_score_adj"}},
                                                    {"env", {"PATH=/bin"}},
                                                    {"oomScoreAdj", 321}}));
  instance->start();
  EXPECT_EQ(instance->wait().code, 0U) << err();
  EXPECT_EQ(out(), "321\n");
}

TEST_F(NativeContainer, SecurityLabelsItCannotApplyAreRefusedAtCreate) {
  auto [code, message] = status_of([&] {
    ContainerInstance::create(bundle({{"args", {"sh"}}, {"selinuxLabel", "system_u:system_r:t"}}));
  });
  EXPECT_EQ(code, StatusCode::kInvalidArgument);
  EXPECT_NE(message.find("process.selinuxLabel"), std::string::npos) << message;
  if (container::apparmor_enabled()) {
    GTEST_SKIP() << "AppArmor is enforced on this host: a profile is applied, not refused";
  }
  std::tie(code, message) = status_of([&] {
    ContainerInstance::create(bundle({{"args", {"sh"}}, {"apparmorProfile", "runtime/default"}}));
  });
  EXPECT_EQ(code, StatusCode::kInvalidArgument);
  EXPECT_NE(message.find("AppArmor is not enabled on this host"), std::string::npos) << message;
}

TEST_F(NativeContainer, ExecRunsAProcessWithItsOwnSettingsAndStdio) {
  auto instance = ContainerInstance::create(bundle({{"args", {"sleep", "1000"}}}));
  instance->start();
  touch(dir_.path() / "exec-out");
  shim::ExecConfig exec_config;
  exec_config.exec_id = "probe";
  exec_config.process_json = json{
      {"args", {"sh", "-c", "echo exec $X $(pwd); exit 3"}},
      {"env", {"X=from-exec", "PATH=/bin:/usr/bin"}},
      {"cwd", "/tmp"}}.dump();
  exec_config.stdout_path = (dir_.path() / "exec-out").string();
  auto exec = instance->exec(exec_config);
  EXPECT_NE(exec->start(), 0U);
  EXPECT_EQ(exec->wait().code, 3U);
  EXPECT_EQ(read_all(dir_.path() / "exec-out"), "exec from-exec /tmp\n");
  instance->kill(SIGKILL);
  EXPECT_EQ(instance->wait().code, 128U + SIGKILL);
}

TEST_F(NativeContainer, ExecFindsAScriptThroughItsOwnPath) {
  auto instance = ContainerInstance::create(bundle({{"args", {"sleep", "1000"}}}));
  instance->start();
  std::filesystem::create_directories(dir_.path() / "tools");
  const std::string tool = (dir_.path() / "tools" / "probe").string();
  std::ofstream(tool) << "#!/bin/sh\necho \"probe $1\"\n";
  std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
  touch(dir_.path() / "exec-out");
  shim::ExecConfig exec_config;
  exec_config.exec_id = "script";
  exec_config.process_json = json{
      {"args", {"probe", "ran"}},
      {"env", {"PATH=" + (dir_.path() / "tools").string()}},
      {"cwd", "/"}}.dump();
  exec_config.stdout_path = (dir_.path() / "exec-out").string();
  auto exec = instance->exec(exec_config);
  exec->start();
  EXPECT_EQ(exec->wait().code, 0U);
  EXPECT_EQ(read_all(dir_.path() / "exec-out"), "probe ran\n");
  instance->kill(SIGKILL);
  instance->wait();
}

TEST_F(NativeContainer, AnExecThatCannotEnterItsCwdSaysSo) {
  auto instance = ContainerInstance::create(bundle({{"args", {"sleep", "1000"}}}));
  instance->start();
  touch(dir_.path() / "exec-err");
  shim::ExecConfig exec_config;
  exec_config.exec_id = "nowhere";
  exec_config.process_json =
      json{{"args", {"/bin/sh", "-c", "true"}}, {"cwd", "/no/such/dir"}}.dump();
  exec_config.stderr_path = (dir_.path() / "exec-err").string();
  auto exec = instance->exec(exec_config);
  exec->start();
  EXPECT_EQ(exec->wait().code, 125U);
  EXPECT_NE(read_all(dir_.path() / "exec-err").find("chdir to process.cwd /no/such/dir"),
            std::string::npos);
  instance->kill(SIGKILL);
  instance->wait();
}

TEST_F(NativeContainer, NoExecStartsOnceTheContainersProcessHasGone) {
  auto instance = ContainerInstance::create(bundle({{"args", {"sleep", "1000"}}}));
  instance->start();
  shim::ExecConfig exec_config;
  exec_config.exec_id = "late";
  exec_config.process_json = json{{"args", {"/bin/true"}}, {"cwd", "/"}}.dump();
  auto exec = instance->exec(exec_config);
  instance->kill(SIGKILL);
  instance->wait();
  auto [code, message] = status_of([&] { exec->start(); });
  EXPECT_EQ(code, StatusCode::kFailedPrecondition);
  EXPECT_NE(message.find("the container's process has exited"), std::string::npos) << message;
}

TEST_F(NativeContainer, ExecOfAMissingProgramIsNotFound) {
  auto instance = ContainerInstance::create(bundle({{"args", {"sleep", "1000"}}}));
  instance->start();
  shim::ExecConfig exec_config;
  exec_config.exec_id = "missing";
  exec_config.process_json = json{{"args", {"/no/such/tool"}}, {"cwd", "/"}}.dump();
  auto [code, message] = status_of([&] { instance->exec(exec_config); });
  EXPECT_EQ(code, StatusCode::kNotFound);
  EXPECT_NE(message.find("exec missing: /no/such/tool"), std::string::npos) << message;
  exec_config.process_json = "{\"args\": 3}";
  EXPECT_EQ(status_of([&] { instance->exec(exec_config); }).first, StatusCode::kInvalidArgument);
}

TEST_F(NativeContainer, AWasmContainerRefusesExec) {
  std::ofstream(dir_.path() / "empty.wasm", std::ios::binary) << std::string("\0asm\1\0\0\0", 8);
  auto instance =
      ContainerInstance::create(bundle({{"args", {(dir_.path() / "empty.wasm").string()}}}));
  EXPECT_EQ(instance->program().kind, ProgramKind::wasm);
  shim::ExecConfig exec_config;
  exec_config.exec_id = "e1";
  exec_config.process_json = json{{"args", {"sh"}}}.dump();
  auto [code, message] = status_of([&] { instance->exec(exec_config); });
  EXPECT_EQ(code, StatusCode::kUnimplemented);
  EXPECT_NE(message.find("runs a Wasm module"), std::string::npos) << message;
}

}  // namespace
}  // namespace wasmshim::runtime
