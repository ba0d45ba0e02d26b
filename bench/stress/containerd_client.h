// The stress runs' client of containerd itself (`--via containerd`): one
// gRPC channel on containerd's socket and the calls `ctr run --rm` makes,
// without its process per task and without IO (the task's stdio is
// /dev/null, as the direct runs drop it too).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace grpc {
class ClientContext;
class Status;
}  // namespace grpc
namespace containerd::services::tasks::v1 {
class WaitResponse;
}  // namespace containerd::services::tasks::v1

class ContainerdClient {
 public:
  ContainerdClient(const std::string& socket, std::string namespace_name);
  ~ContainerdClient();
  ContainerdClient(const ContainerdClient&) = delete;
  ContainerdClient& operator=(const ContainerdClient&) = delete;

  // Creates container `id` (`runtime`, e.g. io.containerd.runc.v2, and the
  // OCI spec as JSON), creates and starts its task, waits for its exit and
  // deletes both. Returns the exit status; throws with the failed call,
  // after removing what it made.
  std::uint32_t run(const std::string& id, const std::string& runtime,
                    const std::string& spec_json);

 private:
  std::unique_ptr<grpc::ClientContext> context() const;
  grpc::Status wait_for_task(const std::string& id,
                             containerd::services::tasks::v1::WaitResponse& waited);
  grpc::Status delete_task(const std::string& id);
  void remove_container(const std::string& id);
  void remove_after_failure(const std::string& id);

  struct Stubs;
  std::unique_ptr<Stubs> stubs_;
  std::string namespace_;
};
