// A seccomp filter built from the spec with libseccomp.
#pragma once

#include <seccomp.h>

#include <map>
#include <memory>
#include <string>

#include "wasmshim/container/oci_spec.h"

namespace wasmshim::container {

class SeccompFilter {
 public:
  // Throws ContainerSetupError naming what libseccomp refused.
  explicit SeccompFilter(const OciSeccomp& spec);
  ~SeccompFilter() = default;
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;

  void load();
  // Whether the syscall can succeed under the filter: a rule that allows it
  // (even only for some arguments), else the default action. Syscalls this
  // libseccomp does not know are reported as allowed.
  bool may_allow(const std::string& name) const;

 private:
  // Released whether the constructor finishes or throws half way.
  struct ReleaseContext {
    void operator()(void* context) const;
  };
  std::unique_ptr<void, ReleaseContext> context_;
  bool default_allows_ = false;
  // Syscall number -> whether its rules can allow it.
  std::map<int, bool> rule_allows_;
};

}  // namespace wasmshim::container
