// The container's filesystem view: mounts inside the rootfs, pivot_root,
// masked and read-only paths. Runs in the container's process, alone in its
// new mount namespace (nothing else runs in the container yet, so paths
// checked here cannot be swapped under us).
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "wasmshim/base/unique_fd.h"
#include "wasmshim/container/setup.h"

namespace wasmshim::container {
namespace {

using base::UniqueFd;

[[noreturn]] void fail(const std::string& what) {
  throw ContainerSetupError(what + ": " + std::generic_category().message(errno));
}

struct MountFlags {
  unsigned long flags = 0;
  unsigned long propagation = 0;
  std::string data;
};

MountFlags parse_options(const std::vector<std::string>& options) {
  struct Option {
    const char* name;
    bool clear;
    unsigned long flag;
  };
  static constexpr std::array<Option, 24> kOptions{{
      {"ro", false, MS_RDONLY},
      {"rw", true, MS_RDONLY},
      {"nosuid", false, MS_NOSUID},
      {"suid", true, MS_NOSUID},
      {"nodev", false, MS_NODEV},
      {"dev", true, MS_NODEV},
      {"noexec", false, MS_NOEXEC},
      {"exec", true, MS_NOEXEC},
      {"sync", false, MS_SYNCHRONOUS},
      {"async", true, MS_SYNCHRONOUS},
      {"dirsync", false, MS_DIRSYNC},
      {"remount", false, MS_REMOUNT},
      {"mand", false, MS_MANDLOCK},
      {"nomand", true, MS_MANDLOCK},
      {"atime", true, MS_NOATIME},
      {"noatime", false, MS_NOATIME},
      {"diratime", true, MS_NODIRATIME},
      {"nodiratime", false, MS_NODIRATIME},
      {"relatime", false, MS_RELATIME},
      {"norelatime", true, MS_RELATIME},
      {"strictatime", false, MS_STRICTATIME},
      {"bind", false, MS_BIND},
      {"rbind", false, MS_BIND | MS_REC},
      {"silent", false, MS_SILENT},
  }};
  static constexpr std::array<std::pair<const char*, unsigned long>, 8> kPropagation{{
      {"private", MS_PRIVATE},
      {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},
      {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},
      {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE},
      {"runbindable", MS_UNBINDABLE | MS_REC},
  }};
  MountFlags out;
  for (const auto& option : options) {
    bool known = false;
    for (const auto& entry : kOptions) {
      if (option == entry.name) {
        out.flags = entry.clear ? out.flags & ~entry.flag : out.flags | entry.flag;
        known = true;
      }
    }
    for (const auto& [name, flag] : kPropagation) {
      if (option == name) {
        out.propagation |= flag;
        known = true;
      }
    }
    if (!known) {
      out.data += (out.data.empty() ? "" : ",") + option;
    }
  }
  return out;
}

int open_in_root(int root, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<__u64>(static_cast<unsigned>(flags | O_CLOEXEC));
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const std::string relative = path.empty() || path == "/" ? "." : path.substr(1);
  return static_cast<int>(::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof(how)));
}

// The host path of `destination` inside the rootfs, made (directories, and
// the last part as a file when `file`) where missing. Symlinks in the way
// resolve inside the rootfs, never out of it.
std::string prepare_target(int root, const std::string& destination, bool file) {
  std::istringstream parts(destination);
  std::string part;
  std::vector<std::string> components;
  while (std::getline(parts, part, '/')) {
    if (!part.empty() && part != ".") {
      components.push_back(part);
    }
  }
  std::string prefix;
  UniqueFd current(open_in_root(root, "/", O_PATH | O_DIRECTORY));
  for (std::size_t i = 0; i < components.size(); ++i) {
    const bool last = i + 1 == components.size();
    const bool as_file = last && file;
    const std::string parent = prefix.empty() ? "/" : prefix;
    prefix += "/" + components[i];
    UniqueFd next(open_in_root(root, prefix, O_PATH | (as_file ? 0 : O_DIRECTORY)));
    if (!next.valid() && errno == ENOENT) {
      UniqueFd parent_fd(open_in_root(root, parent, O_PATH | O_DIRECTORY));
      if (!parent_fd.valid()) {
        fail("mount target " + destination + ": opening " + parent + " in the rootfs");
      }
      const int made = as_file
                           ? ::openat(parent_fd.get(), components[i].c_str(),
                                      O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644)
                           : ::mkdirat(parent_fd.get(), components[i].c_str(), 0755);
      if (made < 0 && errno != EEXIST) {
        fail("mount target " + destination + ": creating " + prefix + " in the rootfs");
      }
      if (as_file && made >= 0) {
        ::close(made);
      }
      next.reset(open_in_root(root, prefix, O_PATH | (as_file ? 0 : O_DIRECTORY)));
    }
    if (!next.valid()) {
      fail("mount target " + destination + ": " + prefix + " in the rootfs");
    }
    current = std::move(next);
  }
  char resolved[PATH_MAX] = {};
  const std::string link = "/proc/self/fd/" + std::to_string(current.get());
  const ssize_t n = ::readlink(link.c_str(), resolved, sizeof(resolved) - 1);
  if (n <= 0) {
    fail("mount target " + destination + ": resolving");
  }
  return std::string(resolved, static_cast<std::size_t>(n));
}

void do_mount(const char* source, const std::string& target, const char* type, unsigned long flags,
              const std::string& data, const std::string& what) {
  if (::mount(source, target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) != 0) {
    fail(what);
  }
}

void mount_one(int root, const OciMount& mount) {
  MountFlags flags = parse_options(mount.options);
  const bool bind = (flags.flags & MS_BIND) != 0 || mount.type == "bind";
  const std::string what = "mount " + mount.destination + " (" +
                           (mount.type.empty() ? "bind" : mount.type) + " from " +
                           (mount.source.empty() ? "none" : mount.source) + ")";
  if (bind) {
    struct stat st {};
    if (::stat(mount.source.c_str(), &st) != 0) {
      fail(what + ": source");
    }
    const std::string target = prepare_target(root, mount.destination, !S_ISDIR(st.st_mode));
    do_mount(mount.source.c_str(), target, nullptr, MS_BIND | (flags.flags & MS_REC), "", what);
    // Flags other than bind itself take a remount of the new mount.
    const unsigned long rest =
        flags.flags & ~static_cast<unsigned long>(MS_BIND | MS_REC | MS_REMOUNT);
    if (rest != 0) {
      do_mount(nullptr, target, nullptr, MS_BIND | MS_REMOUNT | rest, "", what + ": remount");
    }
    if (flags.propagation != 0) {
      do_mount(nullptr, target, nullptr, flags.propagation, "", what + ": propagation");
    }
    return;
  }
  const std::string target = prepare_target(root, mount.destination, false);
  std::string type = mount.type;
  if (type == "cgroup") {
    // The container's view of its own cgroup (a cgroup namespace root); the
    // v2 tree is there on hybrid machines too.
    type = "cgroup2";
  }
  if (::mount(mount.source.c_str(), target.c_str(), type.c_str(), flags.flags,
              flags.data.empty() ? nullptr : flags.data.c_str()) != 0) {
    if (type == "sysfs" && errno == EPERM) {
      // Without its own network namespace the kernel refuses a new sysfs:
      // the host's, read-only, as runc does.
      do_mount("/sys", target, nullptr, MS_BIND | MS_REC, "", what);
      do_mount(nullptr, target, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, "", what);
    } else {
      fail(what);
    }
  }
  if (flags.propagation != 0) {
    do_mount(nullptr, target, nullptr, flags.propagation, "", what + ": propagation");
  }
}

// A fresh tmpfs on /dev has nothing in it: the usual devices, bound from the
// host's, and the usual links.
void populate_dev(int root) {
  for (const char* device : {"null", "zero", "full", "random", "urandom", "tty"}) {
    const std::string host = std::string("/dev/") + device;
    const std::string target = prepare_target(root, host, true);
    do_mount(host.c_str(), target, nullptr, MS_BIND, "", "binding " + host + " into the container");
  }
  const std::string dev = prepare_target(root, "/dev", false);
  const std::array<std::pair<const char*, const char*>, 5> links{{
      {"/proc/self/fd", "fd"},
      {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"},
      {"pts/ptmx", "ptmx"},
  }};
  for (const auto& [to, name] : links) {
    const std::string path = dev + "/" + name;
    if (::symlink(to, path.c_str()) != 0 && errno != EEXIST) {
      fail("creating " + path);
    }
  }
}

void pivot_into(const std::string& root_path) {
  UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  UniqueFd new_root(::open(root_path.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root.valid() || !new_root.valid() || ::fchdir(new_root.get()) != 0) {
    fail("pivot_root: opening " + root_path);
  }
  // Both roots on one spot; the old one then comes off from underneath.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) {
    fail("pivot_root into " + root_path);
  }
  if (::fchdir(old_root.get()) != 0) {
    fail("pivot_root: returning to the old root");
  }
  do_mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, "", "pivot_root: old root propagation");
  if (::umount2(".", MNT_DETACH) != 0) {
    fail("pivot_root: detaching the old root");
  }
  if (::chdir("/") != 0) {
    fail("chdir /");
  }
}

void mask(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return;  // nothing there to hide
  }
  if (S_ISDIR(st.st_mode)) {
    do_mount("tmpfs", path, "tmpfs", MS_RDONLY, "", "masking " + path);
  } else {
    do_mount("/dev/null", path, nullptr, MS_BIND, "", "masking " + path);
  }
}

void make_readonly(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) {
    return;
  }
  do_mount(path.c_str(), path, nullptr, MS_BIND | MS_REC, "", "read-only path " + path);
  do_mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, "",
           "read-only path " + path);
}

void write_sysctls(const std::map<std::string, std::string>& sysctl) {
  for (const auto& [key, value] : sysctl) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    std::ofstream out(path);
    out << value;
    out.flush();
    if (!out) {
      throw ContainerSetupError("linux.sysctl " + key + "=" + value + ": cannot write " + path);
    }
  }
}

}  // namespace

void enter_rootfs(const OciSpec& spec) {
  // Nothing done here may leak back to the host's mounts.
  do_mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, "", "making / private");
  // pivot_root wants the new root to be a mount point.
  do_mount(spec.root_path.c_str(), spec.root_path, nullptr, MS_BIND | MS_REC, "",
           "binding the rootfs " + spec.root_path);
  UniqueFd root(::open(spec.root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) {
    fail("opening the rootfs " + spec.root_path);
  }
  bool dev_is_fresh = false;
  for (const auto& mount : spec.mounts) {
    mount_one(root.get(), mount);
    dev_is_fresh = dev_is_fresh || (mount.destination == "/dev" && mount.type == "tmpfs");
  }
  if (dev_is_fresh) {
    populate_dev(root.get());
  }
  pivot_into(spec.root_path);
  if (spec.linux) {
    write_sysctls(spec.linux->sysctl);
    for (const auto& path : spec.linux->masked_paths) {
      mask(path);
    }
    for (const auto& path : spec.linux->readonly_paths) {
      make_readonly(path);
    }
  }
  if (spec.root_readonly) {
    do_mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, "", "making / read-only");
  }
}

}  // namespace wasmshim::container
