// The parts of an OCI runtime spec (a bundle's config.json) the container
// layer uses. Parsing is strict where a mistake would run the wrong thing
// and names the field at fault.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wasmshim::container {

class OciSpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OciRlimit {
  int resource = 0;  // RLIMIT_*
  std::string name;  // as the spec spells it: "RLIMIT_NOFILE"
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
};

// Capability numbers (CAP_*) per set; `present` says the spec had the
// section at all (absent: the process keeps what it has).
struct OciCapabilities {
  bool present = false;
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

struct OciUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
};

struct OciProcess {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  bool terminal = false;
  OciUser user;
  std::vector<OciRlimit> rlimits;
  bool no_new_privileges = false;
  OciCapabilities capabilities;
  // Written to /proc/self/oom_score_adj before the ids change.
  std::optional<int> oom_score_adj;
  // An AppArmor profile to change to at exec; empty: none asked.
  std::string apparmor_profile;
  // An SELinux label, which wasmshim refuses rather than ignores.
  std::string selinux_label;
};

struct OciNamespace {
  int clone_flag = 0;  // CLONE_NEW*
  std::string type;    // "pid", "network", ...
  std::string path;    // empty: a new namespace; else join this one
};

struct OciMount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct OciResources {
  std::optional<std::int64_t> memory_limit;  // bytes; -1 is unlimited
  std::optional<std::int64_t> memory_swap;
  std::optional<std::uint64_t> cpu_shares;
  std::optional<std::int64_t> cpu_quota;  // microseconds per period; -1 unlimited
  std::optional<std::uint64_t> cpu_period;
  std::optional<std::int64_t> pids_limit;  // 0 or less: unlimited
};

struct OciSeccompArg {
  unsigned index = 0;
  std::uint64_t value = 0;
  std::uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ, ...
};

struct OciSeccompRule {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_*
  std::optional<unsigned> errno_ret;
  std::vector<OciSeccompArg> args;
};

struct OciSeccomp {
  std::string default_action;
  std::optional<unsigned> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_*
  std::vector<std::string> flags;
  std::vector<OciSeccompRule> syscalls;
};

// The spec's "linux" object; absent fields stay empty.
struct OciLinux {
  std::vector<OciNamespace> namespaces;
  std::string cgroups_path;
  OciResources resources;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::optional<OciSeccomp> seccomp;
  std::map<std::string, std::string> sysctl;
};

struct OciSpec {
  OciProcess process;
  // Absolute host path of the root filesystem (root.path, relative to the
  // bundle unless absolute).
  std::string root_path;
  bool root_readonly = false;
  std::string hostname;
  std::map<std::string, std::string> annotations;
  std::vector<OciMount> mounts;
  // Absent when config.json has no "linux" object: no isolation is asked.
  std::optional<OciLinux> linux;
};

// `bundle` resolves a relative root.path. Throws OciSpecError.
OciSpec parse_oci_spec(std::string_view text, const std::string& bundle);
// Reads <bundle>/config.json. Throws OciSpecError.
OciSpec load_oci_spec(const std::string& bundle);
// A runtime-spec Process object alone, as containerd sends it for an exec
// (JSON). Throws OciSpecError naming the field, under "process".
OciProcess parse_oci_process(std::string_view text);

// A kind of namespace as clone(2), config.json and /proc/PID/ns name it.
struct NamespaceType {
  int clone_flag;              // CLONE_NEW*
  std::string_view spec_name;  // "network"
  std::string_view proc_name;  // "net"
};
const std::array<NamespaceType, 7>& namespace_types();

// The namespace of `type` the spec asks for, if any.
const OciNamespace* find_namespace(const OciSpec& spec, std::string_view type);

}  // namespace wasmshim::container
