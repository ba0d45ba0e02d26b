#include "containerd_client.h"

#include <grpcpp/grpcpp.h>

#include <csignal>
#include <stdexcept>

#include "github.com/containerd/containerd/api/services/containers/v1/containers.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/tasks/v1/tasks.grpc.pb.h"

namespace containers = containerd::services::containers::v1;
namespace tasks = containerd::services::tasks::v1;

namespace {

// How containerd's typeurl names a runtime spec carried as JSON.
constexpr const char* kSpecTypeUrl = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

void check(const grpc::Status& status, const char* call) {
  if (!status.ok()) {
    throw std::runtime_error(std::string(call) + ": " + status.error_message());
  }
}

}  // namespace

struct ContainerdClient::Stubs {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<containers::Containers::Stub> containers;
  std::unique_ptr<tasks::Tasks::Stub> tasks;
};

ContainerdClient::ContainerdClient(const std::string& socket, std::string namespace_name)
    : stubs_(std::make_unique<Stubs>()), namespace_(std::move(namespace_name)) {
  stubs_->channel = grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials());
  stubs_->containers = containers::Containers::NewStub(stubs_->channel);
  stubs_->tasks = tasks::Tasks::NewStub(stubs_->channel);
}

ContainerdClient::~ContainerdClient() = default;

std::uint32_t ContainerdClient::run(const std::string& id, const std::string& runtime,
                                    const std::string& spec_json) {
  containers::CreateContainerRequest create_container;
  auto* container = create_container.mutable_container();
  container->set_id(id);
  container->mutable_runtime()->set_name(runtime);
  container->mutable_spec()->set_type_url(kSpecTypeUrl);
  container->mutable_spec()->set_value(spec_json);
  containers::CreateContainerResponse container_created;
  check(stubs_->containers->Create(context().get(), create_container, &container_created),
        "Containers.Create");
  try {
    tasks::CreateTaskRequest create_task;
    create_task.set_container_id(id);
    tasks::CreateTaskResponse task_created;
    check(stubs_->tasks->Create(context().get(), create_task, &task_created), "Tasks.Create");
    tasks::StartRequest start;
    start.set_container_id(id);
    tasks::StartResponse started;
    check(stubs_->tasks->Start(context().get(), start, &started), "Tasks.Start");
    tasks::WaitResponse waited;
    check(wait_for_task(id, waited), "Tasks.Wait");
    check(delete_task(id), "Tasks.Delete");
    remove_container(id);
    return waited.exit_status();
  } catch (const std::exception&) {
    remove_after_failure(id);
    throw;
  }
}

std::unique_ptr<grpc::ClientContext> ContainerdClient::context() const {
  // Every call names the namespace, as containerd's own clients do.
  auto made = std::make_unique<grpc::ClientContext>();
  made->AddMetadata("containerd-namespace", namespace_);
  return made;
}

void ContainerdClient::remove_container(const std::string& id) {
  containers::DeleteContainerRequest delete_container;
  delete_container.set_id(id);
  google::protobuf::Empty empty;
  check(stubs_->containers->Delete(context().get(), delete_container, &empty), "Containers.Delete");
}

grpc::Status ContainerdClient::wait_for_task(const std::string& id, tasks::WaitResponse& waited) {
  tasks::WaitRequest wait;
  wait.set_container_id(id);
  return stubs_->tasks->Wait(context().get(), wait, &waited);
}

grpc::Status ContainerdClient::delete_task(const std::string& id) {
  tasks::DeleteTaskRequest delete_task;
  delete_task.set_container_id(id);
  tasks::DeleteResponse task_deleted;
  return stubs_->tasks->Delete(context().get(), delete_task, &task_deleted);
}

// What a failed task leaves is removed, best effort, so its shim does not
// run on (and take CPU) for the rest of the run.
void ContainerdClient::remove_after_failure(const std::string& id) {
  tasks::KillRequest kill;
  kill.set_container_id(id);
  kill.set_signal(SIGKILL);
  kill.set_all(true);
  google::protobuf::Empty killed;
  if (stubs_->tasks->Kill(context().get(), kill, &killed).ok()) {
    tasks::WaitResponse waited;
    (void)wait_for_task(id, waited);
  }
  (void)delete_task(id);
  try {
    remove_container(id);
  } catch (const std::exception&) {
    // Nothing more to do here; the round reports the task's own error.
  }
}
