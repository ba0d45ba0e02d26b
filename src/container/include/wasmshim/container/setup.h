// What the container's own process does to itself before its workload runs,
// from the spec, in this order: enter_rootfs, set_hostname, apply_rlimits,
// drop_privileges (ids, capabilities, no_new_privs, seccomp). Each throws
// ContainerSetupError naming the step, the path or value, and the reason.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "wasmshim/container/oci_spec.h"

namespace wasmshim::container {

class ContainerSetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// In a new mount namespace: the spec's mounts (and the default devices when
// /dev is a fresh tmpfs), sysctls, pivot_root into the rootfs, masked and
// read-only paths, and a read-only root when asked. Afterwards "/" is the
// container's root and nothing of the host's tree is reachable.
void enter_rootfs(const OciSpec& spec);

// The spec's hostname, when the process has its own uts namespace.
void set_hostname(const OciSpec& spec);

void apply_rlimits(const OciSpec& spec);

// process.oomScoreAdj, while the process may still lower it (before the ids
// change). A value the kernel refuses is an error naming it.
void apply_oom_score_adj(const OciProcess& process);

// Whether the host's kernel enforces AppArmor profiles.
bool apparmor_enabled();

// Throws when process.apparmorProfile names a profile and AppArmor is not
// enabled, as runc refuses it.
void check_apparmor_profile(const OciProcess& process);

// process.apparmorProfile: the profile the next exec changes to (checked
// as above first).
void apply_apparmor_profile(const OciProcess& process);

// User and group ids, capabilities, no_new_privs and the seccomp filter,
// the filter last so that it need not allow the setup's own syscalls when
// no_new_privs is set (the kernel wants either it or CAP_SYS_ADMIN).
void drop_privileges(const OciSpec& spec);

// Builds the spec's seccomp filter without loading it, and checks it lets
// the engine run: throws ContainerSetupError naming unknown syscalls,
// actions, architectures or operators, and the engine's syscalls the profile
// denies. Meant for Create, so a broken profile never reaches Start.
void check_seccomp(const OciSeccomp& seccomp);

// The same for a native program: the filter builds, and lets the program
// be exec'd once it is loaded.
void check_native_seccomp(const OciSeccomp& seccomp);

// The syscalls the engine makes while a module runs (after setup).
const std::vector<std::string>& engine_syscalls();

}  // namespace wasmshim::container
