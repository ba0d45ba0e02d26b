// Where a shim listens, as containerd's own shims compute it, so containerd
// and other tools find it.
#pragma once

#include <string>

namespace wasmshim::shim {

// unix:///run/containerd/s/<hex of SHA-256(address/namespace/group)>.
std::string shim_socket_address(const std::string& containerd_address,
                                const std::string& namespace_name, const std::string& group);

// The id containers that share one shim have in common: the first of the
// bundle's config.json annotations io.containerd.wasmshim.group and
// io.kubernetes.cri.sandbox-id, else the task's own id. A config.json that
// cannot be read leaves the task id (Create reports the problem later).
std::string grouping_id(const std::string& bundle, const std::string& id);

}  // namespace wasmshim::shim
