// End to end through containerd's CRI plugin (Debian's containerd, CRI built
// in), driven as a kubelet drives it: pods of the pause image, containers of
// a native tool, with the `runc` handler first to prove the harness, then our
// `wasmshim` handler.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "cri_fixture.h"
#include "support/proc_stat.h"

namespace wasmshim::testing {
namespace {

using namespace std::chrono_literals;

class CriE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      return;
    }
    containerd_ = new CriContainerd();
  }
  static void TearDownTestSuite() {
    delete containerd_;
    containerd_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the end-to-end tests run containerd, which needs root";
    ASSERT_TRUE(containerd_->ready()) << containerd_->error();
  }
  static CriContainerd& containerd() { return *containerd_; }
  static CriClient& cri() { return containerd_->cri(); }

  static inline CriContainerd* containerd_ = nullptr;
};

// A pod run for one test, stopped and removed when the test ends however it
// ends, so the next test starts with none.
class ScopedPod {
 public:
  ScopedPod(CriContainerd& containerd, const std::string& name, const std::string& handler)
      : client_(containerd.cri()), config_(containerd.host_network_pod(name)) {
    run_ = client_.run_pod_sandbox(config_, handler);
  }
  ~ScopedPod() {
    if (run_.ok()) {
      client_.stop_pod_sandbox(id());
      client_.remove_pod_sandbox(id());
    }
  }
  ScopedPod(const ScopedPod&) = delete;
  ScopedPod& operator=(const ScopedPod&) = delete;

  const CriResult<cri::RunPodSandboxResponse>& run() const { return run_; }
  const std::string& id() const { return run_.response.pod_sandbox_id(); }
  const cri::PodSandboxConfig& config() const { return config_; }

 private:
  CriClient& client_;
  cri::PodSandboxConfig config_;
  CriResult<cri::RunPodSandboxResponse> run_;
};

// Polls ContainerStatus until the container is in `state`; the last status
// seen, whatever its state, when `timeout` passes first.
cri::ContainerStatus wait_for_state(CriClient& client, const std::string& container_id,
                                    cri::ContainerState state, std::chrono::seconds timeout = 30s) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto status = client.container_status(container_id);
    if (status.response.status().state() == state || std::chrono::steady_clock::now() > give_up) {
      return status.response.status();
    }
    std::this_thread::sleep_for(50ms);
  }
}

// Creates and starts a container in `pod`; its id, or nothing (with the
// failure recorded) when CRI refused.
std::optional<std::string> start_container(CriClient& client, const ScopedPod& pod,
                                           const cri::ContainerConfig& config) {
  auto created = client.create_container(pod.id(), config, pod.config());
  EXPECT_TRUE(created.ok()) << created.error();
  if (!created.ok()) {
    return std::nullopt;
  }
  const std::string id = created.response.container_id();
  auto started = client.start_container(id);
  EXPECT_TRUE(started.ok()) << started.error();
  if (!started.ok()) {
    return std::nullopt;
  }
  return id;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool has_line_ending_in(const std::string& text, const std::string& ending) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.ends_with(ending)) {
      return true;
    }
  }
  return false;
}

// Waits until the container's CRI log has a line ending in `ending` (a
// positive signal, e.g. that a program has set up its signal handlers).
bool wait_for_log_line(CriClient& client, const std::string& container_id,
                       const std::string& ending, std::chrono::seconds timeout = 30s) {
  const std::string path = client.container_status(container_id).response.status().log_path();
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (!has_line_ending_in(read_file(path), ending)) {
    if (std::chrono::steady_clock::now() > give_up) {
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

TEST_F(CriE2E, VersionStatusAndImagesAnswer) {
  auto version = cri().version();
  ASSERT_TRUE(version.ok()) << version.error();
  EXPECT_EQ(version.response.runtime_name(), "containerd");
  EXPECT_FALSE(version.response.runtime_version().empty());
  EXPECT_EQ(version.response.runtime_api_version(), "v1");

  auto status = cri().status();
  ASSERT_TRUE(status.ok()) << status.error();
  bool runtime_ready = false;
  for (const auto& condition : status.response.status().conditions()) {
    if (condition.type() == "RuntimeReady") {
      runtime_ready = condition.status();
    }
  }
  EXPECT_TRUE(runtime_ready) << status.response.DebugString();

  for (const char* image :
       {CriContainerd::kPauseImage, CriContainerd::kWasmImage, CriContainerd::kNativeImage}) {
    auto image_status = cri().image_status(image);
    ASSERT_TRUE(image_status.ok()) << image_status.error();
    EXPECT_TRUE(image_status.response.has_image()) << image;
  }
}

TEST_F(CriE2E, RuncSandboxReachesReady) {
  ScopedPod pod(containerd(), "runc-ready", "runc");
  ASSERT_TRUE(pod.run().ok()) << pod.run().error() << "\n" << containerd().log();

  auto status = cri().pod_sandbox_status(pod.id());
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ(status.response.status().state(), cri::SANDBOX_READY);
  EXPECT_EQ(status.response.status().metadata().name(), "runc-ready");
  EXPECT_EQ(status.response.status().linux().namespaces().options().network(), cri::NODE);
}

TEST_F(CriE2E, RuncContainerEchoCompletesAndLogs) {
  ScopedPod pod(containerd(), "runc-echo", "runc");
  ASSERT_TRUE(pod.run().ok()) << pod.run().error();
  auto config = CriContainerd::container(pod.config(), "echo", CriContainerd::kNativeImage,
                                         {CriContainerd::kNativeTool, "echo", "hello"});
  auto id = start_container(cri(), pod, config);
  ASSERT_TRUE(id);

  auto status = wait_for_state(cri(), *id, cri::CONTAINER_EXITED);
  ASSERT_EQ(status.state(), cri::CONTAINER_EXITED) << status.DebugString();
  EXPECT_EQ(status.exit_code(), 0);
  EXPECT_EQ(status.reason(), "Completed");
  EXPECT_GT(status.finished_at(), 0);
  const std::string log_path = pod.config().log_directory() + "/" + config.log_path();
  EXPECT_EQ(status.log_path(), log_path);
  // CRI's log format: "<RFC 3339 time> <stream> <F(ull)|P(artial)> <text>".
  const std::string log = read_file(log_path);
  EXPECT_TRUE(has_line_ending_in(log, " stdout F hello")) << log;
}

TEST_F(CriE2E, RuncExecSyncReturnsOutputAndExitCode) {
  ScopedPod pod(containerd(), "runc-exec", "runc");
  ASSERT_TRUE(pod.run().ok()) << pod.run().error();
  auto config = CriContainerd::container(pod.config(), "sleeper", CriContainerd::kNativeImage,
                                         {CriContainerd::kNativeTool, "sleep", "1000"});
  auto id = start_container(cri(), pod, config);
  ASSERT_TRUE(id);
  auto running = wait_for_state(cri(), *id, cri::CONTAINER_RUNNING);
  ASSERT_EQ(running.state(), cri::CONTAINER_RUNNING) << running.DebugString();

  auto exited = cri().exec_sync(*id, {CriContainerd::kNativeTool, "exit", "3"}, 30s);
  ASSERT_TRUE(exited.ok()) << exited.error();
  EXPECT_EQ(exited.response.exit_code(), 3);

  auto echoed = cri().exec_sync(*id, {CriContainerd::kNativeTool, "echo", "from", "exec"}, 30s);
  ASSERT_TRUE(echoed.ok()) << echoed.error();
  EXPECT_EQ(echoed.response.exit_code(), 0);
  EXPECT_EQ(echoed.response.stdout(), "from exec\n");
  EXPECT_EQ(echoed.response.stderr(), "");

  auto stats = cri().container_stats(*id);
  ASSERT_TRUE(stats.ok()) << stats.error();
  EXPECT_EQ(stats.response.stats().attributes().id(), *id);
  EXPECT_TRUE(stats.response.stats().has_cpu()) << stats.response.DebugString();
  EXPECT_TRUE(stats.response.stats().has_memory()) << stats.response.DebugString();

  // Stopped with time to spare, the tool takes SIGTERM and exits 0 (once
  // it has said its handler is in place).
  ASSERT_TRUE(wait_for_log_line(cri(), *id, " stdout F native_tool: sleeping"));
  auto stopped = cri().stop_container(*id, 10s);
  ASSERT_TRUE(stopped.ok()) << stopped.error();
  auto status = wait_for_state(cri(), *id, cri::CONTAINER_EXITED);
  EXPECT_EQ(status.state(), cri::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 0);
  const std::string log = read_file(status.log_path());
  EXPECT_TRUE(has_line_ending_in(log, " stdout F native_tool: got SIGTERM, exiting")) << log;
}

TEST_F(CriE2E, RuncStopAndRemoveLeaveNoPod) {
  auto config = containerd().host_network_pod("runc-gone");
  auto run = cri().run_pod_sandbox(config, "runc");
  ASSERT_TRUE(run.ok()) << run.error();
  const std::string id = run.response.pod_sandbox_id();

  auto stopped = cri().stop_pod_sandbox(id);
  ASSERT_TRUE(stopped.ok()) << stopped.error();
  auto after_stop = cri().pod_sandbox_status(id);
  ASSERT_TRUE(after_stop.ok()) << after_stop.error();
  EXPECT_EQ(after_stop.response.status().state(), cri::SANDBOX_NOTREADY);

  auto removed = cri().remove_pod_sandbox(id);
  ASSERT_TRUE(removed.ok()) << removed.error();
  auto pods = cri().list_pod_sandbox();
  ASSERT_TRUE(pods.ok()) << pods.error();
  for (const auto& pod : pods.response.items()) {
    EXPECT_NE(pod.id(), id) << "removed pod still listed";
  }
  EXPECT_EQ(cri().pod_sandbox_status(id).status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(containerd().ctr("task ls -q").output, "");
}

// Under the wasmshim handler the shim runs the sandbox's pause process too,
// a native program: a shim that runs only Wasm fails RunPodSandbox here, with
// its refusal in the message.
TEST_F(CriE2E, WasmshimSandboxReachesReady) {
  ScopedPod pod(containerd(), "wasmshim-ready", "wasmshim");
  ASSERT_TRUE(pod.run().ok()) << pod.run().error();

  auto status = cri().pod_sandbox_status(pod.id());
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ(status.response.status().state(), cri::SANDBOX_READY);
  EXPECT_EQ(status.response.status().runtime_handler(), "wasmshim");
}

// ---- Pods under wasmshim: Wasm containers, native sidecars, one shim ----

// The pid CRI's verbose status reports for a container or a pod's sandbox.
int pid_in(const google::protobuf::Map<std::string, std::string>& info) {
  auto it = info.find("info");
  if (it == info.end()) {
    return 0;
  }
  return nlohmann::json::parse(it->second).value("pid", 0);
}

int container_pid(CriClient& client, const std::string& id) {
  return pid_in(client.container_status(id, true).response.info());
}

int sandbox_pid(CriClient& client, const std::string& pod_id) {
  return pid_in(client.pod_sandbox_status(pod_id, true).response.info());
}

std::string executable_of(int pid) {
  std::error_code error;
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", error).string();
}

std::set<std::string> shim_sockets() {
  std::set<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/run/containerd/s", error)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

cri::ContainerConfig wasm_container(const ScopedPod& pod, const std::string& name,
                                    const std::vector<std::string>& args) {
  std::vector<std::string> command{"/demo.wasm"};
  command.insert(command.end(), args.begin(), args.end());
  return CriContainerd::container(pod.config(), name, CriContainerd::kWasmImage, command);
}

cri::ContainerConfig native_container(const ScopedPod& pod, const std::string& name,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> command{CriContainerd::kNativeTool};
  command.insert(command.end(), args.begin(), args.end());
  return CriContainerd::container(pod.config(), name, CriContainerd::kNativeImage, command);
}

TEST_F(CriE2E, WasmContainerLogsItsOutputExitStatusAndReason) {
  ScopedPod pod(containerd(), "wasm-echo", "wasmshim");
  ASSERT_TRUE(pod.run().ok()) << pod.run().error();
  auto echo = start_container(cri(), pod, wasm_container(pod, "echo", {"echo", "hello", "wasm"}));
  auto failing = start_container(cri(), pod, wasm_container(pod, "failing", {"exit", "3"}));
  ASSERT_TRUE(echo && failing);

  auto status = wait_for_state(cri(), *echo, cri::CONTAINER_EXITED);
  ASSERT_EQ(status.state(), cri::CONTAINER_EXITED) << status.DebugString();
  EXPECT_EQ(status.exit_code(), 0);
  EXPECT_EQ(status.reason(), "Completed");
  const std::string log = read_file(status.log_path());
  EXPECT_TRUE(has_line_ending_in(log, " stdout F hello wasm")) << log;

  status = wait_for_state(cri(), *failing, cri::CONTAINER_EXITED);
  ASSERT_EQ(status.state(), cri::CONTAINER_EXITED) << status.DebugString();
  EXPECT_EQ(status.exit_code(), 3);
  EXPECT_EQ(status.reason(), "Error");
}

// A Wasm app and a native sidecar in one pod: one shim runs the pause
// process, the module and the sidecar (all three are its children), each
// with its stats; the native one takes ExecSync, the Wasm one says why not.
TEST_F(CriE2E, WasmAndNativeContainersShareThePodsOneShim) {
  ScopedPod pod(containerd(), "mixed", "wasmshim");
  ASSERT_TRUE(pod.run().ok()) << pod.run().error();
  auto app = start_container(cri(), pod, wasm_container(pod, "app", {"daemon"}));
  auto sidecar = start_container(cri(), pod, native_container(pod, "sidecar", {"sleep", "1000"}));
  ASSERT_TRUE(app && sidecar);
  ASSERT_EQ(wait_for_state(cri(), *app, cri::CONTAINER_RUNNING).state(), cri::CONTAINER_RUNNING);
  ASSERT_EQ(wait_for_state(cri(), *sidecar, cri::CONTAINER_RUNNING).state(),
            cri::CONTAINER_RUNNING);

  const int pause = sandbox_pid(cri(), pod.id());
  const int shim = parent_of(pause);
  ASSERT_GT(pause, 0);
  EXPECT_TRUE(executable_of(shim).ends_with("/containerd-shim-wasmshim-v1")) << executable_of(shim);
  EXPECT_EQ(parent_of(container_pid(cri(), *app)), shim);
  EXPECT_EQ(parent_of(container_pid(cri(), *sidecar)), shim);

  for (const std::string& id : {*app, *sidecar}) {
    auto stats = cri().container_stats(id);
    ASSERT_TRUE(stats.ok()) << stats.error();
    EXPECT_TRUE(stats.response.stats().cpu().has_usage_core_nano_seconds())
        << stats.response.DebugString();
    EXPECT_GT(stats.response.stats().memory().working_set_bytes().value(), 0u)
        << stats.response.DebugString();
  }

  auto exited = cri().exec_sync(*sidecar, {CriContainerd::kNativeTool, "exit", "3"}, 30s);
  ASSERT_TRUE(exited.ok()) << exited.error();
  EXPECT_EQ(exited.response.exit_code(), 3);
  auto echoed = cri().exec_sync(*sidecar, {CriContainerd::kNativeTool, "echo", "probe", "ok"}, 30s);
  ASSERT_TRUE(echoed.ok()) << echoed.error();
  EXPECT_EQ(echoed.response.exit_code(), 0);
  EXPECT_EQ(echoed.response.stdout(), "probe ok\n");
  auto refused = cri().exec_sync(*app, {"/demo.wasm", "echo", "x"}, 30s);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status.error_message().find("runs a Wasm module"), std::string::npos)
      << refused.error();
}

// StopContainer sends SIGTERM and waits the grace period before SIGKILL:
// both kinds take the SIGTERM and end well inside it (a SIGKILL would show
// as 137).
TEST_F(CriE2E, StopContainerEndsWasmAndNativeContainersWithSigterm) {
  ScopedPod pod(containerd(), "stopping", "wasmshim");
  ASSERT_TRUE(pod.run().ok()) << pod.run().error();
  auto app = start_container(cri(), pod, wasm_container(pod, "app", {"daemon"}));
  auto sidecar = start_container(cri(), pod, native_container(pod, "sidecar", {"sleep", "1000"}));
  ASSERT_TRUE(app && sidecar);
  ASSERT_EQ(wait_for_state(cri(), *app, cri::CONTAINER_RUNNING).state(), cri::CONTAINER_RUNNING);
  ASSERT_EQ(wait_for_state(cri(), *sidecar, cri::CONTAINER_RUNNING).state(),
            cri::CONTAINER_RUNNING);

  auto stopped = cri().stop_container(*app, 60s);
  ASSERT_TRUE(stopped.ok()) << stopped.error();
  auto status = cri().container_status(*app).response.status();
  EXPECT_EQ(status.state(), cri::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 128 + SIGTERM);

  ASSERT_TRUE(wait_for_log_line(cri(), *sidecar, " stdout F native_tool: sleeping"));
  stopped = cri().stop_container(*sidecar, 60s);
  ASSERT_TRUE(stopped.ok()) << stopped.error();
  status = cri().container_status(*sidecar).response.status();
  EXPECT_EQ(status.state(), cri::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 0);
  EXPECT_TRUE(has_line_ending_in(read_file(status.log_path()),
                                 " stdout F native_tool: got SIGTERM, exiting"));
}

TEST_F(CriE2E, NativeContainerOverItsMemoryLimitIsOOMKilled) {
  ScopedPod pod(containerd(), "oom", "wasmshim");
  ASSERT_TRUE(pod.run().ok()) << pod.run().error();
  auto config = native_container(pod, "hog", {"alloc", "256"});
  config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(32 << 20);
  auto id = start_container(cri(), pod, config);
  ASSERT_TRUE(id);
  auto status = wait_for_state(cri(), *id, cri::CONTAINER_EXITED, 60s);
  ASSERT_EQ(status.state(), cri::CONTAINER_EXITED) << status.DebugString();
  EXPECT_EQ(status.reason(), "OOMKilled") << status.DebugString();
  EXPECT_EQ(status.exit_code(), 128 + SIGKILL);
}

TEST_F(CriE2E, AnImageThatIsNeitherWasmNorExecutableIsRefusedWithItsName) {
  ScopedPod pod(containerd(), "bad-image", "wasmshim");
  ASSERT_TRUE(pod.run().ok()) << pod.run().error();
  auto created = cri().create_container(
      pod.id(),
      CriContainerd::container(pod.config(), "bad", CriContainerd::kWasmImage, {"/data/in.txt"}),
      pod.config());
  ASSERT_TRUE(created.ok()) << created.error();
  auto started = cri().start_container(created.response.container_id());
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.status.error_message().find("/data/in.txt is neither a Wasm module"),
            std::string::npos)
      << started.error();
  // The pod's shim keeps running the pod.
  auto after = start_container(cri(), pod, wasm_container(pod, "after", {"echo", "fine"}));
  ASSERT_TRUE(after);
  EXPECT_EQ(wait_for_state(cri(), *after, cri::CONTAINER_EXITED).exit_code(), 0);
}

// A module whose framing is wrong fails the container's creation (which CRI
// does at StartContainer), named as the container sees it; the pod lives on.
TEST_F(CriE2E, AMalformedModuleIsRefusedAtCreateByItsContainerPath) {
  ScopedPod pod(containerd(), "malformed", "wasmshim");
  ASSERT_TRUE(pod.run().ok()) << pod.run().error();
  auto created = cri().create_container(
      pod.id(),
      CriContainerd::container(pod.config(), "bad", CriContainerd::kWasmImage,
                               {"/data/garbage.wasm"}),
      pod.config());
  ASSERT_TRUE(created.ok()) << created.error();
  auto started = cri().start_container(created.response.container_id());
  ASSERT_FALSE(started.ok());
  const std::string& message = started.status.error_message();
  EXPECT_NE(message.find("/data/garbage.wasm: offset 8: malformed module: unknown section id 13"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find("/rootfs/"), std::string::npos) << message;
  auto status = cri().container_status(created.response.container_id());
  EXPECT_NE(status.response.status().state(), cri::CONTAINER_RUNNING);
  auto after = start_container(cri(), pod, wasm_container(pod, "after", {"echo", "fine"}));
  ASSERT_TRUE(after);
  EXPECT_EQ(wait_for_state(cri(), *after, cri::CONTAINER_EXITED).exit_code(), 0);
}

// StopPodSandbox and RemovePodSandbox leave nothing of the pod: no process
// (shim, pause, containers), mount, cgroup or shim socket.
TEST_F(CriE2E, StopAndRemoveOfAWasmshimPodLeaveNothing) {
  const std::set<std::string> sockets_before = shim_sockets();
  auto config = containerd().host_network_pod("wasmshim-gone");
  auto run = cri().run_pod_sandbox(config, "wasmshim");
  ASSERT_TRUE(run.ok()) << run.error();
  const std::string pod_id = run.response.pod_sandbox_id();
  auto created = cri().create_container(
      pod_id,
      CriContainerd::container(config, "app", CriContainerd::kWasmImage, {"/demo.wasm", "daemon"}),
      config);
  ASSERT_TRUE(created.ok()) << created.error();
  const std::string app = created.response.container_id();
  ASSERT_TRUE(cri().start_container(app).ok());
  ASSERT_EQ(wait_for_state(cri(), app, cri::CONTAINER_RUNNING).state(), cri::CONTAINER_RUNNING);
  const int pause = sandbox_pid(cri(), pod_id);
  const int shim = parent_of(pause);
  const int app_pid = container_pid(cri(), app);
  ASSERT_TRUE(alive(shim) && alive(app_pid));
  EXPECT_NE(shim_sockets(), sockets_before) << "the pod's shim has no socket";

  ASSERT_TRUE(cri().stop_pod_sandbox(pod_id).ok());
  ASSERT_TRUE(cri().remove_pod_sandbox(pod_id).ok());

  // Once removed, the shim has been told to shut down: wait for it to go
  // (a positive signal), then look for anything else left behind.
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (alive(shim) && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(alive(shim)) << "the shim outlived its pod";
  EXPECT_FALSE(alive(pause));
  EXPECT_FALSE(alive(app_pid));
  EXPECT_EQ(shim_sockets(), sockets_before);
  const std::string mounts = read_file("/proc/self/mountinfo");
  EXPECT_EQ(mounts.find(pod_id), std::string::npos) << mounts;
  EXPECT_EQ(mounts.find(app), std::string::npos) << mounts;
  for (const auto& hierarchy : std::filesystem::directory_iterator("/sys/fs/cgroup")) {
    const auto pod_cgroup = hierarchy.path() / config.linux().cgroup_parent().substr(1) / pod_id;
    EXPECT_FALSE(std::filesystem::exists(pod_cgroup)) << pod_cgroup;
  }
  EXPECT_EQ(containerd().ctr("task ls -q").output, "");
}

}  // namespace
}  // namespace wasmshim::testing
