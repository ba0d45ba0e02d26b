#include "rootfs.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace wasmshim::shim {
namespace {

struct MountFlags {
  unsigned long flags = 0;
  std::string data;
};

// Mount options are flags the kernel takes as bits, or filesystem data
// (overlay's lowerdir=..., for instance) passed on as text.
MountFlags parse_options(const ::containerd::types::Mount& mount) {
  static const std::pair<const char*, unsigned long> kSet[] = {{"ro", MS_RDONLY},
                                                               {"bind", MS_BIND},
                                                               {"rbind", MS_BIND | MS_REC},
                                                               {"nosuid", MS_NOSUID},
                                                               {"nodev", MS_NODEV},
                                                               {"noexec", MS_NOEXEC},
                                                               {"sync", MS_SYNCHRONOUS},
                                                               {"noatime", MS_NOATIME},
                                                               {"nodiratime", MS_NODIRATIME},
                                                               {"relatime", MS_RELATIME},
                                                               {"strictatime", MS_STRICTATIME},
                                                               {"private", MS_PRIVATE},
                                                               {"rprivate", MS_PRIVATE | MS_REC}};
  MountFlags out;
  for (const auto& option : mount.options()) {
    bool matched = false;
    for (const auto& [name, bits] : kSet) {
      if (option == name) {
        out.flags |= bits;
        matched = true;
      }
    }
    if (!matched && option != "rw" && option != "defaults") {
      out.data += (out.data.empty() ? "" : ",") + option;
    }
  }
  if (mount.type() == "bind") {
    out.flags |= MS_BIND;
  }
  return out;
}

}  // namespace

void mount_rootfs(const std::string& bundle, const Mounts& mounts) {
  const std::string target = bundle + "/rootfs";
  ::mkdir(target.c_str(), 0711);
  int done = 0;
  for (const auto& mount : mounts) {
    MountFlags options = parse_options(mount);
    // A read-only bind needs a second, remounting call.
    const unsigned long first = (options.flags & MS_BIND) != 0
                                    ? options.flags & ~static_cast<unsigned long>(MS_RDONLY)
                                    : options.flags;
    if (::mount(mount.source().c_str(), target.c_str(), mount.type().c_str(), first,
                options.data.empty() ? nullptr : options.data.c_str()) != 0) {
      const int error = errno;
      for (int i = 0; i < done; ++i) {
        ::umount2(target.c_str(), MNT_DETACH);
      }
      throw std::system_error(error, std::generic_category(),
                              "mount " + mount.type() + " " + mount.source() + " on " + target);
    }
    ++done;
    if ((options.flags & MS_BIND) && (options.flags & MS_RDONLY)) {
      ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr);
    }
  }
}

void unmount_rootfs(const std::string& bundle) {
  const std::string target = bundle + "/rootfs";
  // Several mounts may be stacked; detach until nothing is left.
  for (int i = 0; i < 16 && ::umount2(target.c_str(), MNT_DETACH) == 0; ++i) {
  }
}

}  // namespace wasmshim::shim
