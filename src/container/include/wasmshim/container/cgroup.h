// A container's cgroup, at the spec's cgroupsPath, on cgroup v1 (one
// directory per controller hierarchy) or v2 (one unified tree): limits,
// joining, statistics and removal.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "wasmshim/base/unique_fd.h"
#include "wasmshim/container/oci_spec.h"

namespace wasmshim::container {

class CgroupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where the hierarchies are mounted. detect() reads /proc/self/mountinfo;
// tests build one over a scratch directory.
struct CgroupLayout {
  int version = 0;           // 1 or 2; 0: no cgroup filesystem found
  std::string unified_root;  // v2: the cgroup2 mount
  // v1: controller ("memory", "cpu", "cpuacct", "pids", ...) -> mount point.
  std::map<std::string, std::string> v1_roots;

  static CgroupLayout detect();
};

// Usage and limits, in the units of the kernel files they come from turned
// into bytes and nanoseconds; what the version does not have stays zero.
struct CgroupStats {
  int version = 0;
  std::uint64_t memory_usage = 0;
  std::uint64_t memory_max_usage = 0;
  std::uint64_t memory_limit = 0;
  std::uint64_t memory_failcnt = 0;
  std::map<std::string, std::uint64_t> memory_stat;  // memory.stat as the kernel names it
  std::uint64_t oom_events = 0;  // times the limit was hit (v2 memory.events oom)
  std::uint64_t oom_kills = 0;
  std::uint64_t cpu_usage_ns = 0;
  std::uint64_t cpu_user_ns = 0;
  std::uint64_t cpu_system_ns = 0;
  std::vector<std::uint64_t> cpu_per_cpu_ns;
  std::uint64_t cpu_periods = 0;
  std::uint64_t cpu_throttled_periods = 0;
  std::uint64_t cpu_throttled_ns = 0;
  std::uint64_t pids_current = 0;
  std::uint64_t pids_limit = 0;  // 0: no limit
};

class Cgroup {
 public:
  // Creates the cgroup (and its parents) and writes the limits. A relative
  // cgroupsPath is taken below `fallback_parent`; an empty one means
  // `fallback_parent`/`name`. Throws CgroupError naming the file and why.
  static Cgroup create(const CgroupLayout& layout, const std::string& cgroups_path,
                       const OciResources& resources, const std::string& fallback_name);
  // The cgroup create() made for these arguments, where it still exists
  // (for a cleanup after the process that made it died). Never creates.
  static Cgroup open(const CgroupLayout& layout, const std::string& cgroups_path,
                     const std::string& fallback_name);
  Cgroup() = default;
  Cgroup(Cgroup&&) = default;
  Cgroup& operator=(Cgroup&&) = default;

  // cgroup.procs of every directory, open for writing: a process that
  // writes "0" to each joins the cgroup (used between clone and exec).
  std::vector<base::UniqueFd> open_procs() const;
  CgroupStats stats() const;
  // stats().oom_kills alone: one file read instead of a dozen (checked
  // around every container's run).
  std::uint64_t oom_kills() const;
  // Sends `signal` to every process in the cgroup.
  void signal_all(int signal) const;
  // Kills what is left and removes the directories (retrying while the
  // kernel still counts exiting tasks). Errors are ignored: nothing to do.
  void remove();
  bool empty() const { return directories_.empty(); }
  // The directories, one per hierarchy (v1) or one (v2).
  const std::map<std::string, std::string>& directories() const { return directories_; }

 private:
  int version_ = 0;
  // Controller (v1) or "" (v2) -> directory.
  std::map<std::string, std::string> directories_;
};

// The cgroup v2 cpu.weight for the v1-style shares of the spec.
std::uint64_t cpu_weight_from_shares(std::uint64_t shares);

// This process's cgroup ("/" when none is listed) in the v1 hierarchy of
// `controller`, or in the v2 tree when `controller` is empty.
std::string own_cgroup(const std::string& controller);

}  // namespace wasmshim::container
