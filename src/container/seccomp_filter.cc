#include "seccomp_filter.h"

#include <linux/seccomp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "wasmshim/container/setup.h"

namespace wasmshim::container {
namespace {

std::string error_text(int rc) {
  return std::generic_category().message(-rc);
}

std::uint32_t parse_action(const std::string& action, std::optional<unsigned> errno_ret,
                           const std::string& where) {
  if (action == "SCMP_ACT_ALLOW") {
    return SCMP_ACT_ALLOW;
  }
  if (action == "SCMP_ACT_LOG") {
    return SCMP_ACT_LOG;
  }
  if (action == "SCMP_ACT_ERRNO") {
    return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  }
  if (action == "SCMP_ACT_TRACE") {
    return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  }
  if (action == "SCMP_ACT_TRAP") {
    return SCMP_ACT_TRAP;
  }
  if (action == "SCMP_ACT_KILL" || action == "SCMP_ACT_KILL_THREAD") {
    return SCMP_ACT_KILL_THREAD;
  }
  if (action == "SCMP_ACT_KILL_PROCESS") {
    return SCMP_ACT_KILL_PROCESS;
  }
  throw ContainerSetupError("config.json: " + where + ": unsupported seccomp action \"" + action +
                            "\"");
}

bool allows(std::uint32_t action) {
  return action == SCMP_ACT_ALLOW || action == SCMP_ACT_LOG;
}

scmp_compare parse_op(const std::string& op) {
  static constexpr std::array<std::pair<const char*, scmp_compare>, 7> kOps{{
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  }};
  for (const auto& [name, value] : kOps) {
    if (op == name) {
      return value;
    }
  }
  throw ContainerSetupError("config.json: linux.seccomp: unknown argument operator \"" + op + "\"");
}

std::uint32_t parse_arch(const std::string& name) {
  std::string short_name = name.starts_with("SCMP_ARCH_") ? name.substr(10) : name;
  std::transform(short_name.begin(), short_name.end(), short_name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::uint32_t arch = seccomp_arch_resolve_name(short_name.c_str());
  if (arch == 0) {
    throw ContainerSetupError("config.json: linux.seccomp: unknown architecture \"" + name + "\"");
  }
  return arch;
}

void set_flag(scmp_filter_ctx context, const std::string& flag) {
  if (flag == "SECCOMP_FILTER_FLAG_TSYNC") {
    seccomp_attr_set(context, SCMP_FLTATR_CTL_TSYNC, 1);
  } else if (flag == "SECCOMP_FILTER_FLAG_LOG") {
    seccomp_attr_set(context, SCMP_FLTATR_CTL_LOG, 1);
  } else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
    seccomp_attr_set(context, SCMP_FLTATR_CTL_SSB, 1);
  } else {
    throw ContainerSetupError("config.json: linux.seccomp: unknown flag \"" + flag + "\"");
  }
}

}  // namespace

SeccompFilter::SeccompFilter(const OciSeccomp& spec) {
  const std::uint32_t default_action =
      parse_action(spec.default_action, spec.default_errno_ret, "linux.seccomp.defaultAction");
  default_allows_ = allows(default_action);
  context_.reset(seccomp_init(default_action));
  if (context_ == nullptr) {
    throw ContainerSetupError("seccomp: libseccomp could not start a filter");
  }
  // The filter's own NO_NEW_PRIVS would override the spec's choice.
  seccomp_attr_set(context_.get(), SCMP_FLTATR_CTL_NNP, 0);
  for (const auto& arch : spec.architectures) {
    const int rc = seccomp_arch_add(context_.get(), parse_arch(arch));
    if (rc != 0 && rc != -EEXIST) {
      throw ContainerSetupError("seccomp: adding architecture " + arch + ": " + error_text(rc));
    }
  }
  for (const auto& flag : spec.flags) {
    set_flag(context_.get(), flag);
  }
  for (const auto& rule : spec.syscalls) {
    const std::uint32_t action =
        parse_action(rule.action, rule.errno_ret, "linux.seccomp.syscalls[].action");
    std::vector<scmp_arg_cmp> conditions;
    for (const auto& arg : rule.args) {
      if (arg.index > 5) {
        throw ContainerSetupError("config.json: linux.seccomp: argument index " +
                                  std::to_string(arg.index) + " is past the sixth");
      }
      conditions.push_back({arg.index, parse_op(arg.op), arg.value, arg.value_two});
    }
    for (const auto& name : rule.names) {
      const int number = seccomp_syscall_resolve_name(name.c_str());
      if (number == __NR_SCMP_ERROR) {
        continue;  // newer than this libseccomp: as runc does, skip it
      }
      if (conditions.empty() || allows(action)) {
        auto [it, inserted] = rule_allows_.emplace(number, allows(action));
        if (!inserted && allows(action)) {
          it->second = true;
        }
      }
      if (action == default_action) {
        continue;  // libseccomp refuses rules that change nothing
      }
      const int rc = seccomp_rule_add_array(context_.get(), action, number,
                                            static_cast<unsigned>(conditions.size()),
                                            conditions.empty() ? nullptr : conditions.data());
      if (rc != 0) {
        throw ContainerSetupError("seccomp: rule for " + name + " (" + rule.action +
                                  "): " + error_text(rc));
      }
    }
  }
}

void SeccompFilter::ReleaseContext::operator()(void* context) const {
  seccomp_release(context);
}

void SeccompFilter::load() {
  const int rc = seccomp_load(context_.get());
  if (rc != 0) {
    throw ContainerSetupError("seccomp: loading the filter: " + error_text(rc));
  }
}

bool SeccompFilter::may_allow(const std::string& name) const {
  const int number = seccomp_syscall_resolve_name(name.c_str());
  if (number == __NR_SCMP_ERROR) {
    return true;
  }
  auto it = rule_allows_.find(number);
  return it == rule_allows_.end() ? default_allows_ : it->second;
}

const std::vector<std::string>& engine_syscalls() {
  // Read off strace of a module run in both tiers, from the guest thread's
  // creation to exit (the filter is loaded once the module is compiled).
  static const std::vector<std::string> syscalls{
      "mmap",         "munmap",         "mprotect",     "brk",         "futex", "set_robust_list",
      "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "write", "exit",
      "exit_group"};
  return syscalls;
}

namespace {

void refuse_denied(const std::string& denied, std::string_view needed_by) {
  if (!denied.empty()) {
    throw ContainerSetupError("linux.seccomp denies " + denied + ", which " +
                              std::string(needed_by));
  }
}

}  // namespace

void check_seccomp(const OciSeccomp& seccomp) {
  const SeccompFilter filter(seccomp);
  std::string denied;
  for (const auto& name : engine_syscalls()) {
    if (!filter.may_allow(name)) {
      denied += (denied.empty() ? "" : ", ") + name;
    }
  }
  // Threads start with clone3, or clone where clone3 is refused.
  if (!filter.may_allow("clone3") && !filter.may_allow("clone")) {
    denied += (denied.empty() ? "" : ", ") + std::string("clone and clone3");
  }
  refuse_denied(denied, "the Wasm engine needs to run any module");
}

void check_native_seccomp(const OciSeccomp& seccomp) {
  const SeccompFilter filter(seccomp);
  // The filter is loaded last, just before the program is exec'd.
  refuse_denied(filter.may_allow("execve") ? "" : "execve",
                "the container's program is started with");
}

}  // namespace wasmshim::container
