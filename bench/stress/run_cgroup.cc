#include "run_cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "wasmshim/container/cgroup.h"

namespace {

constexpr const char* kRoot = "/sys/fs/cgroup";
// The parent of the containers' cgroups in the stress bundles.
constexpr const char* kName = "/wasmshim-stress";

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::system_error(errno, std::generic_category(), "mkdir " + path);
  }
}

void join(const std::string& procs) {
  std::ofstream out(procs);
  out << ::getpid() << std::flush;
  if (!out) {
    throw std::runtime_error("cannot move this process into " + procs);
  }
}

std::string trimmed_root(const std::string& path) {
  return path == "/" ? std::string() : path;
}

}  // namespace

RunCgroup::RunCgroup() : unified_(exists(std::string(kRoot) + "/cgroup.controllers")) {
  const std::string hierarchy = unified_ ? std::string(kRoot) : std::string(kRoot) + "/cpuacct";
  if (!exists(hierarchy)) {
    throw std::runtime_error("no cgroup hierarchy at " + hierarchy);
  }
  home_ = hierarchy + trimmed_root(wasmshim::container::own_cgroup(unified_ ? "" : "cpuacct")) +
          "/cgroup.procs";
  dir_ = hierarchy + kName;
  make_dir(dir_);
  if (unified_) {
    // v2 keeps processes out of a cgroup with children that use
    // controllers: the client sits in a leaf beside the containers.
    make_dir(dir_ + "/client");
    members_ = dir_ + "/client/cgroup.procs";
  } else {
    members_ = dir_ + "/cgroup.procs";
  }
  join(members_);
}

RunCgroup::~RunCgroup() {
  try {
    join(home_);
  } catch (const std::exception&) {
    return;  // still inside: the cgroup cannot go
  }
  if (unified_) {
    ::rmdir((dir_ + "/client").c_str());
  }
  ::rmdir(dir_.c_str());
}

double RunCgroup::cpu_ms() const {
  if (unified_) {
    std::ifstream in(dir_ + "/cpu.stat");
    std::string key;
    long long value = 0;
    while (in >> key >> value) {
      if (key == "usage_usec") {
        return static_cast<double>(value) / 1000.0;
      }
    }
    throw std::runtime_error("no usage_usec in " + dir_ + "/cpu.stat");
  }
  std::ifstream in(dir_ + "/cpuacct.usage");
  long long nanoseconds = 0;
  if (!(in >> nanoseconds)) {
    throw std::runtime_error("cannot read " + dir_ + "/cpuacct.usage");
  }
  return static_cast<double>(nanoseconds) / 1e6;
}

std::vector<int> RunCgroup::processes() const {
  std::ifstream in(members_);
  std::vector<int> pids;
  int pid = 0;
  while (in >> pid) {
    pids.push_back(pid);
  }
  return pids;
}
