// A CRI client for the tests: the calls a kubelet makes to containerd's CRI
// plugin (runtime.v1, over gRPC on containerd's socket), each with a
// deadline, each returning the gRPC status beside the response so a test can
// assert on either.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cri/cri_api.grpc.pb.h"

namespace wasmshim::testing {

namespace cri = ::runtime::v1;

template <typename Response>
struct CriResult {
  grpc::Status status;
  Response response;

  bool ok() const { return status.ok(); }
  // "CODE: message", for assertion messages.
  std::string error() const {
    return std::to_string(static_cast<int>(status.error_code())) + ": " + status.error_message();
  }
};

class CriClient {
 public:
  // `endpoint`: e.g. "unix:///run/containerd/containerd.sock". Every call
  // gives up after `deadline` (ExecSync: after its own timeout plus this).
  explicit CriClient(const std::string& endpoint,
                     std::chrono::milliseconds deadline = std::chrono::seconds(60));

  // Runtime
  CriResult<cri::VersionResponse> version();
  CriResult<cri::StatusResponse> status(bool verbose = false);

  // Pod sandboxes
  CriResult<cri::RunPodSandboxResponse> run_pod_sandbox(const cri::PodSandboxConfig& config,
                                                        const std::string& runtime_handler);
  CriResult<cri::StopPodSandboxResponse> stop_pod_sandbox(const std::string& pod_id);
  CriResult<cri::RemovePodSandboxResponse> remove_pod_sandbox(const std::string& pod_id);
  CriResult<cri::PodSandboxStatusResponse> pod_sandbox_status(const std::string& pod_id,
                                                              bool verbose = false);
  CriResult<cri::ListPodSandboxResponse> list_pod_sandbox(const cri::PodSandboxFilter& filter = {});

  // Containers
  CriResult<cri::CreateContainerResponse> create_container(
      const std::string& pod_id, const cri::ContainerConfig& config,
      const cri::PodSandboxConfig& sandbox_config);
  CriResult<cri::StartContainerResponse> start_container(const std::string& container_id);
  // `grace`: how long the container has after SIGTERM before SIGKILL.
  CriResult<cri::StopContainerResponse> stop_container(const std::string& container_id,
                                                       std::chrono::seconds grace);
  CriResult<cri::RemoveContainerResponse> remove_container(const std::string& container_id);
  CriResult<cri::ListContainersResponse> list_containers(const cri::ContainerFilter& filter = {});
  CriResult<cri::ContainerStatusResponse> container_status(const std::string& container_id,
                                                           bool verbose = false);
  CriResult<cri::ContainerStatsResponse> container_stats(const std::string& container_id);
  CriResult<cri::ListContainerStatsResponse> list_container_stats(
      const cri::ContainerStatsFilter& filter = {});
  // Runs `command` in the container and waits for it; containerd kills it
  // after `timeout` (zero: no limit but this client's deadline).
  CriResult<cri::ExecSyncResponse> exec_sync(const std::string& container_id,
                                             const std::vector<std::string>& command,
                                             std::chrono::seconds timeout);

  // Images
  CriResult<cri::ListImagesResponse> list_images();
  // `image` unset in the response when containerd does not have it.
  CriResult<cri::ImageStatusResponse> image_status(const std::string& image);

 private:
  template <typename Stub, typename Request, typename Response>
  CriResult<Response> call(Stub& stub,
                           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                        Response*),
                           const Request& request, std::chrono::milliseconds deadline);

  std::chrono::milliseconds deadline_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<cri::RuntimeService::Stub> runtime_;
  std::unique_ptr<cri::ImageService::Stub> images_;
};

}  // namespace wasmshim::testing
