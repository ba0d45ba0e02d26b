// The CPU time of everything one stress run starts: this client (and its
// OTLP receiver), `shim start` and `delete`, shim daemons, containers,
// containerd. The client moves itself into a cgroup of its own, which every
// process it starts inherits and under which the containers' cgroups
// (/wasmshim-stress/<id>) are made, so the cgroup's CPU counter sees them
// all and nothing else: on a shared machine other tenants' work (a compiler
// on the next core) moves /proc/stat's figure by tens of percent between
// rounds, and this one not at all.
#pragma once

#include <string>
#include <vector>

class RunCgroup {
 public:
  // Moves this process in; throws when it cannot (no cpuacct hierarchy on
  // cgroup v1, no cpu.stat on v2).
  RunCgroup();
  // Moves this process back to where it was and removes the cgroup.
  ~RunCgroup();
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;

  // CPU time used in the cgroup so far, all of its processes and the
  // cgroups under it, living or gone, in ms.
  double cpu_ms() const;
  // The processes in the cgroup now (the containers' cgroups excepted).
  std::vector<int> processes() const;

 private:
  bool unified_ = false;
  std::string dir_;      // the cgroup
  std::string home_;     // cgroup.procs to return to
  std::string members_;  // cgroup.procs this process was moved to
};
