// The process's own settings: hostname, rlimits, ids, capabilities,
// no_new_privs; the seccomp filter comes last (seccomp.cc).
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <system_error>

#include "seccomp_filter.h"
#include "wasmshim/base/unique_fd.h"
#include "wasmshim/container/setup.h"

namespace wasmshim::container {
namespace {

using base::UniqueFd;

[[noreturn]] void fail(const std::string& what) {
  throw ContainerSetupError(what + ": " + std::generic_category().message(errno));
}

// Bit sets as capset(2) takes them: two 32-bit words per set.
struct CapabilityWords {
  __u32 low = 0;
  __u32 high = 0;
};

CapabilityWords words(const std::vector<int>& caps) {
  CapabilityWords out;
  for (int cap : caps) {
    if (cap < 32) {
      out.low |= 1U << cap;
    } else {
      out.high |= 1U << (cap - 32);
    }
  }
  return out;
}

// While the process still has CAP_SETPCAP, i.e. before the uid change.
void drop_bounding_set(const OciCapabilities& caps) {
  // The kernel answers EINVAL past its last capability.
  for (int cap = 0; cap < 64 && ::prctl(PR_CAPBSET_READ, cap) >= 0; ++cap) {
    if (std::find(caps.bounding.begin(), caps.bounding.end(), cap) == caps.bounding.end() &&
        ::prctl(PR_CAPBSET_READ, cap) == 1 && ::prctl(PR_CAPBSET_DROP, cap) != 0) {
      fail("dropping capability " + std::to_string(cap) + " from the bounding set");
    }
  }
}

// After the uid change (the permitted set kept by PR_SET_KEEPCAPS).
void set_capability_sets(const OciCapabilities& caps) {
  const CapabilityWords effective = words(caps.effective);
  const CapabilityWords permitted = words(caps.permitted);
  const CapabilityWords inheritable = words(caps.inheritable);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {
      {effective.low, permitted.low, inheritable.low},
      {effective.high, permitted.high, inheritable.high},
  };
  if (::syscall(SYS_capset, &header, data) != 0) {
    fail("setting capabilities (process.capabilities)");
  }
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap : caps.ambient) {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) {
      fail("raising ambient capability " + std::to_string(cap) +
           " (it must be in the permitted and inheritable sets too)");
    }
  }
}

void apply_ids(const OciUser& user) {
  if (::setgroups(user.additional_gids.size(), user.additional_gids.data()) != 0) {
    fail("setgroups (process.user.additionalGids)");
  }
  if (::setresgid(user.gid, user.gid, user.gid) != 0) {
    fail("setting gid " + std::to_string(user.gid));
  }
  if (::setresuid(user.uid, user.uid, user.uid) != 0) {
    fail("setting uid " + std::to_string(user.uid));
  }
}

}  // namespace

void set_hostname(const OciSpec& spec) {
  if (spec.hostname.empty()) {
    return;
  }
  const OciNamespace* uts = find_namespace(spec, "uts");
  if (uts == nullptr) {
    throw ContainerSetupError("hostname \"" + spec.hostname +
                              "\" is set but the container has no uts namespace of its own: it "
                              "would rename the host");
  }
  if (::sethostname(spec.hostname.data(), spec.hostname.size()) != 0) {
    fail("sethostname \"" + spec.hostname + "\"");
  }
}

void apply_rlimits(const OciSpec& spec) {
  for (const auto& limit : spec.process.rlimits) {
    const rlimit value{limit.soft, limit.hard};
    if (::setrlimit(static_cast<__rlimit_resource>(limit.resource), &value) != 0) {
      fail("setrlimit " + limit.name + " " + std::to_string(limit.soft) + "/" +
           std::to_string(limit.hard));
    }
  }
}

void apply_oom_score_adj(const OciProcess& process) {
  if (!process.oom_score_adj) {
    return;
  }
  const std::string value = std::to_string(*process.oom_score_adj);
  UniqueFd file(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
  if (!file.valid() || ::write(file.get(), value.data(), value.size()) < 0) {
    fail("setting process.oomScoreAdj " + value +
         " (lowering it takes CAP_SYS_RESOURCE; containerd's restrict_oom_score_adj keeps it at "
         "the shim's own)");
  }
}

bool apparmor_enabled() {
  char flag = 'N';
  UniqueFd file(::open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC));
  return file.valid() && ::read(file.get(), &flag, 1) == 1 && flag == 'Y';
}

void check_apparmor_profile(const OciProcess& process) {
  if (!process.apparmor_profile.empty() && !apparmor_enabled()) {
    throw ContainerSetupError("process.apparmorProfile \"" + process.apparmor_profile +
                              "\" is set but AppArmor is not enabled on this host");
  }
}

void apply_apparmor_profile(const OciProcess& process) {
  if (process.apparmor_profile.empty()) {
    return;
  }
  check_apparmor_profile(process);
  const std::string command = "exec " + process.apparmor_profile;
  UniqueFd file(::open("/proc/self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC));
  if (!file.valid()) {
    file.reset(::open("/proc/self/attr/exec", O_WRONLY | O_CLOEXEC));
  }
  if (!file.valid() || ::write(file.get(), command.data(), command.size()) < 0) {
    fail("changing to AppArmor profile \"" + process.apparmor_profile + "\" at exec");
  }
}

void drop_privileges(const OciSpec& spec) {
  const auto& process = spec.process;
  std::optional<SeccompFilter> filter;
  if (spec.linux && spec.linux->seccomp) {
    filter.emplace(*spec.linux->seccomp);
  }
  // Keep the permitted set across the uid change; capset decides after.
  if (process.capabilities.present && ::prctl(PR_SET_KEEPCAPS, 1) != 0) {
    fail("prctl PR_SET_KEEPCAPS");
  }
  // Without no_new_privs, loading a filter takes CAP_SYS_ADMIN: load it
  // while the process still has it.
  if (filter && !process.no_new_privileges) {
    filter->load();
  }
  if (process.capabilities.present) {
    drop_bounding_set(process.capabilities);
  }
  apply_ids(process.user);
  if (process.capabilities.present) {
    set_capability_sets(process.capabilities);
  }
  if (process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fail("prctl PR_SET_NO_NEW_PRIVS");
  }
  if (filter && process.no_new_privileges) {
    filter->load();
  }
}

}  // namespace wasmshim::container
