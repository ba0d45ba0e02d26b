// The container's root filesystem: containerd hands the shim the mounts of
// the snapshot (overlay, bind, ...) and the shim mounts them at
// <bundle>/rootfs, as runc's shim does.
#pragma once

#include <string>

#include "github.com/containerd/containerd/api/types/mount.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace wasmshim::shim {

using Mounts = google::protobuf::RepeatedPtrField<::containerd::types::Mount>;

// Throws std::system_error naming the mount that failed (and undoes the
// ones already made).
void mount_rootfs(const std::string& bundle, const Mounts& mounts);
// Detaches whatever is mounted at <bundle>/rootfs; quiet when nothing is.
void unmount_rootfs(const std::string& bundle);

}  // namespace wasmshim::shim
