// Task metrics in the types containerd's clients decode: the cgroups v1 and
// v2 Metrics messages, packed in an Any named by their full proto name.
#pragma once

#include <google/protobuf/any.pb.h>

#include "wasmshim/container/cgroup.h"

namespace wasmshim::shim {

google::protobuf::Any metrics_any(const container::CgroupStats& stats);

}  // namespace wasmshim::shim
