// End to end through containerd's CRI plugin (Debian's containerd, CRI built
// in), driven as a kubelet drives it: pods of the pause image, containers of
// a native tool, with the `runc` handler first to prove the harness, then our
// `wasmshim` handler.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "cri_fixture.h"

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

  // Stopped with time to spare, the tool takes SIGTERM and exits 0.
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

}  // namespace
}  // namespace wasmshim::testing
