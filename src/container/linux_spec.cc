// The Linux parts of config.json: namespaces, cgroup resources, masked and
// read-only paths, seccomp, and the process's ids, rlimits and capabilities.
#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include "json_fields.h"

namespace wasmshim::container::detail {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 16> kRlimits{{
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
}};

// In CAP_* number order.
constexpr std::array<std::string_view, 41> kCapabilities{"CAP_CHOWN",
                                                         "CAP_DAC_OVERRIDE",
                                                         "CAP_DAC_READ_SEARCH",
                                                         "CAP_FOWNER",
                                                         "CAP_FSETID",
                                                         "CAP_KILL",
                                                         "CAP_SETGID",
                                                         "CAP_SETUID",
                                                         "CAP_SETPCAP",
                                                         "CAP_LINUX_IMMUTABLE",
                                                         "CAP_NET_BIND_SERVICE",
                                                         "CAP_NET_BROADCAST",
                                                         "CAP_NET_ADMIN",
                                                         "CAP_NET_RAW",
                                                         "CAP_IPC_LOCK",
                                                         "CAP_IPC_OWNER",
                                                         "CAP_SYS_MODULE",
                                                         "CAP_SYS_RAWIO",
                                                         "CAP_SYS_CHROOT",
                                                         "CAP_SYS_PTRACE",
                                                         "CAP_SYS_PACCT",
                                                         "CAP_SYS_ADMIN",
                                                         "CAP_SYS_BOOT",
                                                         "CAP_SYS_NICE",
                                                         "CAP_SYS_RESOURCE",
                                                         "CAP_SYS_TIME",
                                                         "CAP_SYS_TTY_CONFIG",
                                                         "CAP_MKNOD",
                                                         "CAP_LEASE",
                                                         "CAP_AUDIT_WRITE",
                                                         "CAP_AUDIT_CONTROL",
                                                         "CAP_SETFCAP",
                                                         "CAP_MAC_OVERRIDE",
                                                         "CAP_MAC_ADMIN",
                                                         "CAP_SYSLOG",
                                                         "CAP_WAKE_ALARM",
                                                         "CAP_BLOCK_SUSPEND",
                                                         "CAP_AUDIT_READ",
                                                         "CAP_PERFMON",
                                                         "CAP_BPF",
                                                         "CAP_CHECKPOINT_RESTORE"};

std::vector<int> capability_set(const json& caps, const char* key) {
  std::vector<int> out;
  for (const auto& name : string_list(caps, key, "process.capabilities")) {
    std::size_t i = 0;
    while (i < kCapabilities.size() && kCapabilities[i] != name) {
      ++i;
    }
    if (i == kCapabilities.size()) {
      throw OciSpecError("config.json: process.capabilities." + std::string(key) +
                         ": unknown capability \"" + name + "\"");
    }
    out.push_back(static_cast<int>(i));
  }
  return out;
}

OciRlimit parse_rlimit(const json& item) {
  const std::string where = "process.rlimits[]";
  if (!item.is_object()) {
    throw OciSpecError("config.json: " + where + " must be objects");
  }
  OciRlimit limit;
  limit.name = string_field(item, "type", where);
  auto known = std::find_if(kRlimits.begin(), kRlimits.end(),
                            [&](const auto& entry) { return entry.first == limit.name; });
  if (known == kRlimits.end()) {
    throw OciSpecError("config.json: process.rlimits: unknown type \"" + limit.name + "\"");
  }
  limit.resource = known->second;
  auto soft = uint_field(item, "soft", where);
  auto hard = uint_field(item, "hard", where);
  if (!soft || !hard) {
    throw OciSpecError("config.json: process.rlimits " + limit.name + " needs soft and hard");
  }
  if (*soft > *hard) {
    throw OciSpecError("config.json: process.rlimits " + limit.name + ": soft is above hard");
  }
  limit.soft = *soft;
  limit.hard = *hard;
  return limit;
}

std::vector<OciNamespace> parse_namespaces(const json& linux_object) {
  std::vector<OciNamespace> out;
  const json* list = array_field(linux_object, "namespaces", "linux");
  if (list == nullptr) {
    return out;
  }
  for (const auto& item : *list) {
    if (!item.is_object()) {
      throw OciSpecError("config.json: linux.namespaces must be objects");
    }
    OciNamespace ns;
    ns.type = string_field(item, "type", "linux.namespaces[]");
    ns.path = string_field(item, "path", "linux.namespaces[]");
    const auto& types = namespace_types();
    auto known = std::find_if(types.begin(), types.end(),
                              [&](const auto& entry) { return entry.spec_name == ns.type; });
    if (known == types.end()) {
      throw OciSpecError("config.json: linux.namespaces: unknown type \"" + ns.type + "\"");
    }
    for (const auto& seen : out) {
      if (seen.type == ns.type) {
        throw OciSpecError("config.json: linux.namespaces lists \"" + ns.type + "\" twice");
      }
    }
    ns.clone_flag = known->clone_flag;
    out.push_back(std::move(ns));
  }
  return out;
}

OciResources parse_resources(const json& linux_object) {
  OciResources out;
  const json* resources = object_field(linux_object, "resources", "linux");
  if (resources == nullptr) {
    return out;
  }
  if (const json* memory = object_field(*resources, "memory", "linux.resources")) {
    out.memory_limit = int_field(*memory, "limit", "linux.resources.memory");
    out.memory_swap = int_field(*memory, "swap", "linux.resources.memory");
    if (out.memory_limit && *out.memory_limit == 0) {
      out.memory_limit.reset();  // 0 means "not set" in the spec's Go types
    }
  }
  if (const json* cpu = object_field(*resources, "cpu", "linux.resources")) {
    out.cpu_shares = uint_field(*cpu, "shares", "linux.resources.cpu");
    out.cpu_quota = int_field(*cpu, "quota", "linux.resources.cpu");
    out.cpu_period = uint_field(*cpu, "period", "linux.resources.cpu");
  }
  if (const json* pids = object_field(*resources, "pids", "linux.resources")) {
    out.pids_limit = int_field(*pids, "limit", "linux.resources.pids");
  }
  return out;
}

std::optional<unsigned> errno_field(const json& parent, const std::string& where) {
  auto value = uint_field(parent, "errnoRet", where);
  if (!value) {
    return std::nullopt;
  }
  return static_cast<unsigned>(*value);
}

OciSeccompRule parse_seccomp_rule(const json& item) {
  const std::string where = "linux.seccomp.syscalls[]";
  if (!item.is_object()) {
    throw OciSpecError("config.json: " + where + " must be objects");
  }
  OciSeccompRule rule;
  rule.names = string_list(item, "names", where);
  rule.action = string_field(item, "action", where);
  rule.errno_ret = errno_field(item, where);
  if (rule.names.empty() || rule.action.empty()) {
    throw OciSpecError("config.json: " + where + " needs names and an action");
  }
  if (const json* args = array_field(item, "args", where)) {
    for (const auto& arg_item : *args) {
      if (!arg_item.is_object()) {
        throw OciSpecError("config.json: " + where + ".args must be objects");
      }
      OciSeccompArg arg;
      arg.index = static_cast<unsigned>(uint_field(arg_item, "index", where + ".args").value_or(0));
      arg.value = uint_field(arg_item, "value", where + ".args").value_or(0);
      arg.value_two = uint_field(arg_item, "valueTwo", where + ".args").value_or(0);
      arg.op = string_field(arg_item, "op", where + ".args");
      rule.args.push_back(std::move(arg));
    }
  }
  return rule;
}

std::optional<OciSeccomp> parse_seccomp(const json& linux_object) {
  const json* seccomp = object_field(linux_object, "seccomp", "linux");
  if (seccomp == nullptr) {
    return std::nullopt;
  }
  OciSeccomp out;
  out.default_action = string_field(*seccomp, "defaultAction", "linux.seccomp");
  if (out.default_action.empty()) {
    throw OciSpecError("config.json: linux.seccomp.defaultAction is missing");
  }
  out.default_errno_ret = errno_field(*seccomp, "linux.seccomp");
  out.architectures = string_list(*seccomp, "architectures", "linux.seccomp");
  out.flags = string_list(*seccomp, "flags", "linux.seccomp");
  if (const json* rules = array_field(*seccomp, "syscalls", "linux.seccomp")) {
    for (const auto& item : *rules) {
      out.syscalls.push_back(parse_seccomp_rule(item));
    }
  }
  return out;
}

}  // namespace

OciLinux parse_linux(const json& linux_object) {
  OciLinux out;
  out.namespaces = parse_namespaces(linux_object);
  out.cgroups_path = string_field(linux_object, "cgroupsPath", "linux");
  out.resources = parse_resources(linux_object);
  out.masked_paths = string_list(linux_object, "maskedPaths", "linux");
  out.readonly_paths = string_list(linux_object, "readonlyPaths", "linux");
  out.seccomp = parse_seccomp(linux_object);
  if (const json* sysctl = object_field(linux_object, "sysctl", "linux")) {
    for (const auto& [key, value] : sysctl->items()) {
      if (!value.is_string()) {
        throw OciSpecError("config.json: linux.sysctl values must be strings");
      }
      out.sysctl[key] = value.get<std::string>();
    }
  }
  return out;
}

void parse_process_linux(const json& process, OciProcess& out) {
  if (const json* user = object_field(process, "user", "process")) {
    out.user.uid = static_cast<uid_t>(uint_field(*user, "uid", "process.user").value_or(0));
    out.user.gid = static_cast<gid_t>(uint_field(*user, "gid", "process.user").value_or(0));
    if (const json* gids = array_field(*user, "additionalGids", "process.user")) {
      for (const auto& gid : *gids) {
        if (!gid.is_number_unsigned()) {
          throw OciSpecError("config.json: process.user.additionalGids must be numbers");
        }
        out.user.additional_gids.push_back(gid.get<gid_t>());
      }
    }
  }
  if (const json* rlimits = array_field(process, "rlimits", "process")) {
    for (const auto& item : *rlimits) {
      out.rlimits.push_back(parse_rlimit(item));
    }
  }
  out.no_new_privileges = bool_field(process, "noNewPrivileges", "process", false);
  if (auto adj = int_field(process, "oomScoreAdj", "process")) {
    if (*adj < -1000 || *adj > 1000) {
      throw OciSpecError("config.json: process.oomScoreAdj " + std::to_string(*adj) +
                         " is outside -1000..1000");
    }
    out.oom_score_adj = static_cast<int>(*adj);
  }
  out.apparmor_profile = string_field(process, "apparmorProfile", "process");
  out.selinux_label = string_field(process, "selinuxLabel", "process");
  if (const json* caps = object_field(process, "capabilities", "process")) {
    out.capabilities.present = true;
    out.capabilities.bounding = capability_set(*caps, "bounding");
    out.capabilities.effective = capability_set(*caps, "effective");
    out.capabilities.inheritable = capability_set(*caps, "inheritable");
    out.capabilities.permitted = capability_set(*caps, "permitted");
    out.capabilities.ambient = capability_set(*caps, "ambient");
  }
}

std::vector<OciMount> parse_mounts(const json& doc) {
  std::vector<OciMount> out;
  const json* mounts = array_field(doc, "mounts", "");
  if (mounts == nullptr) {
    return out;
  }
  for (const auto& item : *mounts) {
    if (!item.is_object()) {
      throw OciSpecError("config.json: mounts must be objects");
    }
    OciMount mount;
    mount.destination = string_field(item, "destination", "mounts[]");
    if (mount.destination.empty() || !mount.destination.starts_with("/")) {
      throw OciSpecError("config.json: mounts[].destination must be an absolute path, not \"" +
                         mount.destination + "\"");
    }
    mount.type = string_field(item, "type", "mounts[]");
    mount.source = string_field(item, "source", "mounts[]");
    mount.options = string_list(item, "options", "mounts[]");
    out.push_back(std::move(mount));
  }
  return out;
}

}  // namespace wasmshim::container::detail
