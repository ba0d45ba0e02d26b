#include "cri/cri_client.h"

namespace wasmshim::testing {

namespace {

// The CRI version a kubelet of the runtime.v1 era sends with Version.
constexpr const char* kKubeletApiVersion = "v1";

}  // namespace

CriClient::CriClient(const std::string& endpoint, std::chrono::milliseconds deadline)
    : deadline_(deadline),
      channel_(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials())),
      runtime_(cri::RuntimeService::NewStub(channel_)),
      images_(cri::ImageService::NewStub(channel_)) {}

template <typename Stub, typename Request, typename Response>
CriResult<Response> CriClient::call(Stub& stub,
                                    grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                 const Request&, Response*),
                                    const Request& request, std::chrono::milliseconds deadline) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  CriResult<Response> result;
  result.status = (stub.*method)(&context, request, &result.response);
  return result;
}

CriResult<cri::VersionResponse> CriClient::version() {
  cri::VersionRequest request;
  request.set_version(kKubeletApiVersion);
  return call(*runtime_, &cri::RuntimeService::Stub::Version, request, deadline_);
}

CriResult<cri::StatusResponse> CriClient::status(bool verbose) {
  cri::StatusRequest request;
  request.set_verbose(verbose);
  return call(*runtime_, &cri::RuntimeService::Stub::Status, request, deadline_);
}

CriResult<cri::RunPodSandboxResponse> CriClient::run_pod_sandbox(
    const cri::PodSandboxConfig& config, const std::string& runtime_handler) {
  cri::RunPodSandboxRequest request;
  *request.mutable_config() = config;
  request.set_runtime_handler(runtime_handler);
  return call(*runtime_, &cri::RuntimeService::Stub::RunPodSandbox, request, deadline_);
}

CriResult<cri::StopPodSandboxResponse> CriClient::stop_pod_sandbox(const std::string& pod_id) {
  cri::StopPodSandboxRequest request;
  request.set_pod_sandbox_id(pod_id);
  return call(*runtime_, &cri::RuntimeService::Stub::StopPodSandbox, request, deadline_);
}

CriResult<cri::RemovePodSandboxResponse> CriClient::remove_pod_sandbox(const std::string& pod_id) {
  cri::RemovePodSandboxRequest request;
  request.set_pod_sandbox_id(pod_id);
  return call(*runtime_, &cri::RuntimeService::Stub::RemovePodSandbox, request, deadline_);
}

CriResult<cri::PodSandboxStatusResponse> CriClient::pod_sandbox_status(const std::string& pod_id,
                                                                       bool verbose) {
  cri::PodSandboxStatusRequest request;
  request.set_pod_sandbox_id(pod_id);
  request.set_verbose(verbose);
  return call(*runtime_, &cri::RuntimeService::Stub::PodSandboxStatus, request, deadline_);
}

CriResult<cri::ListPodSandboxResponse> CriClient::list_pod_sandbox(
    const cri::PodSandboxFilter& filter) {
  cri::ListPodSandboxRequest request;
  *request.mutable_filter() = filter;
  return call(*runtime_, &cri::RuntimeService::Stub::ListPodSandbox, request, deadline_);
}

CriResult<cri::CreateContainerResponse> CriClient::create_container(
    const std::string& pod_id, const cri::ContainerConfig& config,
    const cri::PodSandboxConfig& sandbox_config) {
  cri::CreateContainerRequest request;
  request.set_pod_sandbox_id(pod_id);
  *request.mutable_config() = config;
  *request.mutable_sandbox_config() = sandbox_config;
  return call(*runtime_, &cri::RuntimeService::Stub::CreateContainer, request, deadline_);
}

CriResult<cri::StartContainerResponse> CriClient::start_container(const std::string& container_id) {
  cri::StartContainerRequest request;
  request.set_container_id(container_id);
  return call(*runtime_, &cri::RuntimeService::Stub::StartContainer, request, deadline_);
}

CriResult<cri::StopContainerResponse> CriClient::stop_container(const std::string& container_id,
                                                                std::chrono::seconds grace) {
  cri::StopContainerRequest request;
  request.set_container_id(container_id);
  request.set_timeout(grace.count());
  // containerd answers once the container is gone, which may take the grace.
  return call(*runtime_, &cri::RuntimeService::Stub::StopContainer, request, deadline_ + grace);
}

CriResult<cri::RemoveContainerResponse> CriClient::remove_container(
    const std::string& container_id) {
  cri::RemoveContainerRequest request;
  request.set_container_id(container_id);
  return call(*runtime_, &cri::RuntimeService::Stub::RemoveContainer, request, deadline_);
}

CriResult<cri::ListContainersResponse> CriClient::list_containers(
    const cri::ContainerFilter& filter) {
  cri::ListContainersRequest request;
  *request.mutable_filter() = filter;
  return call(*runtime_, &cri::RuntimeService::Stub::ListContainers, request, deadline_);
}

CriResult<cri::ContainerStatusResponse> CriClient::container_status(const std::string& container_id,
                                                                    bool verbose) {
  cri::ContainerStatusRequest request;
  request.set_container_id(container_id);
  request.set_verbose(verbose);
  return call(*runtime_, &cri::RuntimeService::Stub::ContainerStatus, request, deadline_);
}

CriResult<cri::ContainerStatsResponse> CriClient::container_stats(const std::string& container_id) {
  cri::ContainerStatsRequest request;
  request.set_container_id(container_id);
  return call(*runtime_, &cri::RuntimeService::Stub::ContainerStats, request, deadline_);
}

CriResult<cri::ListContainerStatsResponse> CriClient::list_container_stats(
    const cri::ContainerStatsFilter& filter) {
  cri::ListContainerStatsRequest request;
  *request.mutable_filter() = filter;
  return call(*runtime_, &cri::RuntimeService::Stub::ListContainerStats, request, deadline_);
}

CriResult<cri::ExecSyncResponse> CriClient::exec_sync(const std::string& container_id,
                                                      const std::vector<std::string>& command,
                                                      std::chrono::seconds timeout) {
  cri::ExecSyncRequest request;
  request.set_container_id(container_id);
  for (const auto& word : command) {
    request.add_cmd(word);
  }
  request.set_timeout(timeout.count());
  return call(*runtime_, &cri::RuntimeService::Stub::ExecSync, request, deadline_ + timeout);
}

CriResult<cri::ListImagesResponse> CriClient::list_images() {
  return call(*images_, &cri::ImageService::Stub::ListImages, cri::ListImagesRequest{}, deadline_);
}

CriResult<cri::ImageStatusResponse> CriClient::image_status(const std::string& image) {
  cri::ImageStatusRequest request;
  request.mutable_image()->set_image(image);
  return call(*images_, &cri::ImageService::Stub::ImageStatus, request, deadline_);
}

}  // namespace wasmshim::testing
