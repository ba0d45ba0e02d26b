#include "wasmshim/container/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

#include "wasmshim/base/fd_io.h"

namespace wasmshim::container {
namespace {

// The v1 controllers a container's cgroup is made in. cpuset is left out:
// a new cpuset cgroup has no cpus until they are copied in, and the
// container gets all of its parent's anyway.
constexpr const char* kV1Controllers[] = {"memory", "cpu", "cpuacct", "pids", "blkio", "freezer"};

std::string error_text(int error) {
  return std::generic_category().message(error);
}

void write_file(const std::string& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    throw CgroupError("cgroup: cannot open " + path + ": " + error_text(errno));
  }
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int error = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    throw CgroupError("cgroup: writing \"" + value + "\" to " + path + ": " + error_text(error));
  }
}

bool read_file(const std::string& path, std::string& out) {
  auto text = base::read_file(path);
  if (!text) {
    return false;
  }
  out = std::move(*text);
  return true;
}

std::uint64_t read_number(const std::string& path) {
  std::string text;
  if (!read_file(path, text)) {
    return 0;
  }
  try {
    return text.starts_with("max") ? 0 : std::stoull(text);
  } catch (const std::exception&) {
    return 0;
  }
}

// "key value" lines (memory.stat, cpu.stat, memory.events, oom_control).
std::map<std::string, std::uint64_t> read_keyed(const std::string& path) {
  std::map<std::string, std::uint64_t> out;
  std::string text;
  if (!read_file(path, text)) {
    return out;
  }
  std::istringstream lines(text);
  std::string key;
  std::uint64_t value = 0;
  while (lines >> key >> value) {
    out[key] = value;
  }
  return out;
}

std::uint64_t value_of(const std::map<std::string, std::uint64_t>& values, const char* key) {
  auto it = values.find(key);
  return it == values.end() ? 0 : it->second;
}

void make_directories(const std::string& path) {
  std::string prefix;
  std::istringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty()) {
      continue;
    }
    prefix += "/" + part;
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      throw CgroupError("cgroup: cannot create " + prefix + ": " + error_text(errno));
    }
  }
}

std::string relative_path(const std::string& cgroups_path, const std::string& controller,
                          const std::string& fallback_name) {
  if (cgroups_path.empty()) {
    return "/wasmshim/" + fallback_name;
  }
  if (cgroups_path.starts_with("/")) {
    return cgroups_path;
  }
  std::string base = own_cgroup(controller);
  return (base == "/" ? "" : base) + "/" + cgroups_path;
}

void check_path(const std::string& cgroups_path) {
  if (!cgroups_path.starts_with("/") && cgroups_path.find(':') != std::string::npos) {
    throw CgroupError("linux.cgroupsPath \"" + cgroups_path +
                      "\" is a systemd slice:prefix:name path; wasmshim manages cgroupfs paths "
                      "only (use containerd's cgroupfs driver)");
  }
  std::istringstream parts(cgroups_path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part == "..") {
      throw CgroupError("linux.cgroupsPath \"" + cgroups_path + "\" must not contain \"..\"");
    }
  }
}

void apply_v1(const std::map<std::string, std::string>& dirs, const OciResources& r) {
  auto dir = [&](const char* controller) -> const std::string* {
    auto it = dirs.find(controller);
    return it == dirs.end() ? nullptr : &it->second;
  };
  if (const auto* memory = dir("memory")) {
    if (r.memory_limit) {
      write_file(*memory + "/memory.limit_in_bytes", std::to_string(*r.memory_limit));
    }
    if (r.memory_swap && *r.memory_swap != 0 &&
        ::access((*memory + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0) {
      write_file(*memory + "/memory.memsw.limit_in_bytes", std::to_string(*r.memory_swap));
    }
  } else if (r.memory_limit) {
    throw CgroupError("cgroup: a memory limit is asked but there is no memory controller");
  }
  if (const auto* cpu = dir("cpu")) {
    if (r.cpu_shares && *r.cpu_shares != 0) {
      write_file(*cpu + "/cpu.shares", std::to_string(*r.cpu_shares));
    }
    if (r.cpu_period && *r.cpu_period != 0) {
      write_file(*cpu + "/cpu.cfs_period_us", std::to_string(*r.cpu_period));
    }
    if (r.cpu_quota && *r.cpu_quota != 0) {
      write_file(*cpu + "/cpu.cfs_quota_us", std::to_string(*r.cpu_quota));
    }
  }
  if (const auto* pids = dir("pids")) {
    if (r.pids_limit) {
      write_file(*pids + "/pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max");
    }
  } else if (r.pids_limit && *r.pids_limit > 0) {
    throw CgroupError("cgroup: a pids limit is asked but there is no pids controller");
  }
}

// Controllers must be enabled in every ancestor's subtree_control.
void enable_v2_controllers(const std::string& root, const std::string& relative) {
  std::string dir = root;
  std::istringstream parts(relative);
  std::string part;
  std::vector<std::string> components;
  while (std::getline(parts, part, '/')) {
    if (!part.empty()) {
      components.push_back(part);
    }
  }
  for (std::size_t i = 0; i + 1 <= components.size(); ++i) {
    std::string available;
    read_file(dir + "/cgroup.controllers", available);
    for (const char* controller : {"memory", "cpu", "pids"}) {
      if (available.find(controller) != std::string::npos) {
        try {
          write_file(dir + "/cgroup.subtree_control", std::string("+") + controller);
        } catch (const CgroupError&) {
          // A controller the parent cannot delegate shows up below as a
          // missing limit file, named there.
        }
      }
    }
    dir += "/" + components[i];
  }
}

void apply_v2(const std::string& dir, const OciResources& r) {
  if (r.memory_limit) {
    write_file(dir + "/memory.max", *r.memory_limit < 0 ? "max" : std::to_string(*r.memory_limit));
    if (r.memory_swap && *r.memory_swap != 0) {
      const std::int64_t swap =
          *r.memory_swap < 0 || *r.memory_limit < 0 ? -1 : *r.memory_swap - *r.memory_limit;
      write_file(dir + "/memory.swap.max", swap < 0 ? "max" : std::to_string(swap));
    }
  }
  if (r.cpu_shares && *r.cpu_shares != 0) {
    write_file(dir + "/cpu.weight", std::to_string(cpu_weight_from_shares(*r.cpu_shares)));
  }
  if ((r.cpu_quota && *r.cpu_quota != 0) || (r.cpu_period && *r.cpu_period != 0)) {
    const std::uint64_t period = r.cpu_period.value_or(100000);
    const std::string quota =
        r.cpu_quota && *r.cpu_quota > 0 ? std::to_string(*r.cpu_quota) : std::string("max");
    write_file(dir + "/cpu.max", quota + " " + std::to_string(period));
  }
  if (r.pids_limit) {
    write_file(dir + "/pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max");
  }
}

void signal_members(const std::string& dir, int signal) {
  std::ifstream in(dir + "/cgroup.procs");
  pid_t pid = 0;
  while (in >> pid) {
    if (pid > 0) {
      ::kill(pid, signal);
    }
  }
}

}  // namespace

// Relative cgroupsPaths start here.
std::string own_cgroup(const std::string& controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
      continue;
    }
    if (controller.empty()) {
      if (second == first + 1) {  // the v2 line has no controller names
        return line.substr(second + 1);
      }
      continue;
    }
    std::istringstream names(line.substr(first + 1, second - first - 1));
    std::string name;
    while (std::getline(names, name, ',')) {
      if (name == controller) {
        return line.substr(second + 1);
      }
    }
  }
  return "/";
}

std::uint64_t cpu_weight_from_shares(std::uint64_t shares) {
  // The mapping runc and crun use: [2, 262144] onto [1, 10000].
  if (shares == 0) {
    return 100;
  }
  shares = std::clamp<std::uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

CgroupLayout CgroupLayout::detect() {
  CgroupLayout layout;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // ... mountpoint(5th) ... " - " fstype source superoptions
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) {
      continue;
    }
    std::istringstream head(line.substr(0, dash));
    std::istringstream tail(line.substr(dash + 3));
    std::string id, parent, device, root, mountpoint, fstype, source, options;
    head >> id >> parent >> device >> root >> mountpoint;
    tail >> fstype >> source >> options;
    if (fstype == "cgroup2") {
      layout.unified_root = mountpoint;
    } else if (fstype == "cgroup") {
      std::istringstream names(options);
      std::string name;
      while (std::getline(names, name, ',')) {
        for (const char* controller : kV1Controllers) {
          if (name == controller) {
            layout.v1_roots[name] = mountpoint;
          }
        }
      }
    }
  }
  // Hybrid machines have both; the controllers live on the v1 side there.
  if (!layout.v1_roots.empty()) {
    layout.version = 1;
  } else if (!layout.unified_root.empty()) {
    layout.version = 2;
  }
  return layout;
}

Cgroup Cgroup::create(const CgroupLayout& layout, const std::string& cgroups_path,
                      const OciResources& resources, const std::string& fallback_name) {
  check_path(cgroups_path);
  Cgroup group;
  group.version_ = layout.version;
  if (layout.version == 2) {
    const std::string relative = relative_path(cgroups_path, "", fallback_name);
    enable_v2_controllers(layout.unified_root, relative);
    const std::string dir = layout.unified_root + relative;
    make_directories(dir);
    group.directories_[""] = dir;
    apply_v2(dir, resources);
  } else if (layout.version == 1) {
    for (const auto& [controller, root] : layout.v1_roots) {
      const std::string dir = root + relative_path(cgroups_path, controller, fallback_name);
      make_directories(dir);
      group.directories_[controller] = dir;
    }
    apply_v1(group.directories_, resources);
  } else if (resources.memory_limit || resources.pids_limit) {
    throw CgroupError("cgroup: limits are asked but this machine has no cgroup filesystem");
  }
  return group;
}

Cgroup Cgroup::open(const CgroupLayout& layout, const std::string& cgroups_path,
                    const std::string& fallback_name) {
  check_path(cgroups_path);
  Cgroup group;
  group.version_ = layout.version;
  auto add = [&](const std::string& controller, const std::string& dir) {
    if (::access(dir.c_str(), F_OK) == 0) {
      group.directories_[controller] = dir;
    }
  };
  if (layout.version == 2) {
    add("", layout.unified_root + relative_path(cgroups_path, "", fallback_name));
  } else if (layout.version == 1) {
    for (const auto& [controller, root] : layout.v1_roots) {
      add(controller, root + relative_path(cgroups_path, controller, fallback_name));
    }
  }
  return group;
}

std::vector<base::UniqueFd> Cgroup::open_procs() const {
  std::vector<base::UniqueFd> fds;
  std::vector<std::string> seen;
  for (const auto& [controller, dir] : directories_) {
    if (std::find(seen.begin(), seen.end(), dir) != seen.end()) {
      continue;  // co-mounted controllers share a directory
    }
    seen.push_back(dir);
    const std::string path = dir + "/cgroup.procs";
    base::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) {
      throw CgroupError("cgroup: cannot open " + path + ": " + error_text(errno));
    }
    fds.push_back(std::move(fd));
  }
  return fds;
}

std::uint64_t Cgroup::oom_kills() const {
  if (version_ == 1) {
    auto it = directories_.find("memory");
    return it == directories_.end()
               ? 0
               : value_of(read_keyed(it->second + "/memory.oom_control"), "oom_kill");
  }
  if (version_ == 2) {
    auto it = directories_.find("");
    return it == directories_.end()
               ? 0
               : value_of(read_keyed(it->second + "/memory.events"), "oom_kill");
  }
  return 0;
}

CgroupStats Cgroup::stats() const {
  CgroupStats s;
  s.version = version_;
  auto dir = [&](const char* controller) -> std::string {
    auto it = directories_.find(version_ == 2 ? "" : controller);
    return it == directories_.end() ? std::string() : it->second;
  };
  if (version_ == 1) {
    if (auto memory = dir("memory"); !memory.empty()) {
      s.memory_usage = read_number(memory + "/memory.usage_in_bytes");
      s.memory_max_usage = read_number(memory + "/memory.max_usage_in_bytes");
      s.memory_limit = read_number(memory + "/memory.limit_in_bytes");
      s.memory_failcnt = read_number(memory + "/memory.failcnt");
      s.memory_stat = read_keyed(memory + "/memory.stat");
      s.oom_kills = value_of(read_keyed(memory + "/memory.oom_control"), "oom_kill");
      s.oom_events = s.memory_failcnt;
    }
    if (auto cpuacct = dir("cpuacct"); !cpuacct.empty()) {
      s.cpu_usage_ns = read_number(cpuacct + "/cpuacct.usage");
      std::string per_cpu;
      read_file(cpuacct + "/cpuacct.usage_percpu", per_cpu);
      std::istringstream values(per_cpu);
      std::uint64_t value = 0;
      while (values >> value) {
        s.cpu_per_cpu_ns.push_back(value);
      }
      const auto ticks = read_keyed(cpuacct + "/cpuacct.stat");
      const std::uint64_t ns_per_tick =
          1'000'000'000ULL / static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK));
      s.cpu_user_ns = value_of(ticks, "user") * ns_per_tick;
      s.cpu_system_ns = value_of(ticks, "system") * ns_per_tick;
    }
    if (auto cpu = dir("cpu"); !cpu.empty()) {
      const auto stat = read_keyed(cpu + "/cpu.stat");
      s.cpu_periods = value_of(stat, "nr_periods");
      s.cpu_throttled_periods = value_of(stat, "nr_throttled");
      s.cpu_throttled_ns = value_of(stat, "throttled_time");
    }
    if (auto pids = dir("pids"); !pids.empty()) {
      s.pids_current = read_number(pids + "/pids.current");
      s.pids_limit = read_number(pids + "/pids.max");
    }
  } else if (version_ == 2) {
    const std::string d = dir("");
    s.memory_usage = read_number(d + "/memory.current");
    s.memory_max_usage = read_number(d + "/memory.peak");
    s.memory_limit = read_number(d + "/memory.max");
    s.memory_stat = read_keyed(d + "/memory.stat");
    const auto events = read_keyed(d + "/memory.events");
    s.oom_events = value_of(events, "oom");
    s.oom_kills = value_of(events, "oom_kill");
    const auto cpu = read_keyed(d + "/cpu.stat");
    s.cpu_usage_ns = value_of(cpu, "usage_usec") * 1000;
    s.cpu_user_ns = value_of(cpu, "user_usec") * 1000;
    s.cpu_system_ns = value_of(cpu, "system_usec") * 1000;
    s.cpu_periods = value_of(cpu, "nr_periods");
    s.cpu_throttled_periods = value_of(cpu, "nr_throttled");
    s.cpu_throttled_ns = value_of(cpu, "throttled_usec") * 1000;
    s.pids_current = read_number(d + "/pids.current");
    s.pids_limit = read_number(d + "/pids.max");
  }
  return s;
}

void Cgroup::signal_all(int signal) const {
  // Every hierarchy holds the same processes: one list is enough.
  if (!directories_.empty()) {
    signal_members(directories_.begin()->second, signal);
  }
}

void Cgroup::remove() {
  for (const auto& [controller, dir] : directories_) {
    if (version_ == 2 && ::access((dir + "/cgroup.kill").c_str(), F_OK) == 0) {
      try {
        write_file(dir + "/cgroup.kill", "1");
      } catch (const CgroupError&) {
        signal_members(dir, SIGKILL);
      }
    } else {
      signal_members(dir, SIGKILL);
    }
    // Killed tasks leave the cgroup a moment after they die.
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) {
        break;
      }
      if (errno != EBUSY) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  directories_.clear();
}

}  // namespace wasmshim::container
