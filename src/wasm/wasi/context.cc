#include "context.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

namespace wasmshim::wasm::wasi {

FileType file_type_of_mode(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return kFileTypeRegularFile;
    case S_IFDIR:
      return kFileTypeDirectory;
    case S_IFCHR:
      return kFileTypeCharacterDevice;
    case S_IFBLK:
      return kFileTypeBlockDevice;
    case S_IFLNK:
      return kFileTypeSymbolicLink;
    case S_IFSOCK:
      return kFileTypeSocketStream;
    default:
      return kFileTypeUnknown;
  }
}

namespace {

FileType type_of_fd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return kFileTypeUnknown;
  }
  return file_type_of_mode(st.st_mode);
}

// As wasmtime: stdin may be read, stdout and stderr written, whatever they
// are. A socket the host passes as stdio is used as a socket.
Rights stdio_rights(std::uint32_t number, FileType type) {
  if (type == kFileTypeSocketStream) {
    return kSocketRights | right::kSockAccept;
  }
  return number == 0 ? right::kFdRead : right::kFdWrite;
}

}  // namespace

Context::Context(const WasiConfig& config) : config_(config) {
  int stdio[3] = {config.stdin_fd, config.stdout_fd, config.stderr_fd};
  for (std::uint32_t i = 0; i < 3; ++i) {
    FileType type = type_of_fd(stdio[i]);
    Rights rights = stdio_rights(i, type);
    descriptors_[i] = Descriptor{stdio[i], false, type, std::nullopt, rights, rights, true};
  }
  std::uint32_t next = 3;
  for (const Preopen& preopen : config.preopens) {
    int fd = ::open(preopen.host_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      throw std::system_error(errno, std::generic_category(), "preopen " + preopen.host_path);
    }
    descriptors_[next++] = Descriptor{fd,
                                      true,
                                      kFileTypeDirectory,
                                      preopen.guest_path,
                                      kDirectoryBaseRights,
                                      kDirectoryInheritingRights,
                                      false};
  }
}

Context::~Context() {
  for (auto& [number, descriptor] : descriptors_) {
    if (descriptor.owned && descriptor.host_fd >= 0) {
      ::close(descriptor.host_fd);
    }
  }
}

Descriptor* Context::find(std::uint32_t fd) {
  auto it = descriptors_.find(fd);
  return it == descriptors_.end() ? nullptr : &it->second;
}

Descriptor* Context::find(std::uint32_t fd, Rights needed, Errno& error) {
  Descriptor* d = find(fd);
  if (d == nullptr) {
    error = kBadf;
  } else if ((d->rights_base & needed) != needed) {
    error = kNotCapable;
    d = nullptr;
  }
  return d;
}

std::uint32_t Context::insert(Descriptor descriptor) {
  std::uint32_t number = 0;
  for (const auto& [used, unused] : descriptors_) {
    if (used != number) {
      break;
    }
    ++number;
  }
  descriptors_[number] = std::move(descriptor);
  return number;
}

Errno Context::close(std::uint32_t fd) {
  auto it = descriptors_.find(fd);
  if (it == descriptors_.end()) {
    return kBadf;
  }
  if (it->second.owned && it->second.host_fd >= 0) {
    ::close(it->second.host_fd);
  }
  descriptors_.erase(it);
  return kSuccess;
}

Errno Context::renumber(std::uint32_t from, std::uint32_t to) {
  auto source = descriptors_.find(from);
  if (source == descriptors_.end() || descriptors_.count(to) == 0) {
    return kBadf;
  }
  if (from == to) {
    return kSuccess;
  }
  close(to);
  descriptors_[to] = source->second;
  descriptors_.erase(from);
  return kSuccess;
}

}  // namespace wasmshim::wasm::wasi
