# containerd's Containers and Tasks gRPC services, for `stress --via
# containerd`: the client talks to containerd as its CRI plugin would, with
# no ctr process per task. The types shared with the shim's task API (mount,
# task) come from wasmshim_containerd_proto.
include(${CMAKE_SOURCE_DIR}/cmake/ContainerdProtos.cmake)
set(api_prefix github.com/containerd/containerd/api)
wasmshim_containerd_protos(stress_containerd_api GRPC
  FILES
    ${api_prefix}/services/containers/v1/containers.proto
    ${api_prefix}/services/tasks/v1/tasks.proto
    ${api_prefix}/types/metrics.proto
    ${api_prefix}/types/descriptor.proto
  DEPENDS_ON wasmshim_containerd_proto)
