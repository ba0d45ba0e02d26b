#include "cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "wasmshim/wasm/sha256.h"

namespace wasmshim::wasm {

std::string default_cache_dir() {
  const char* env = std::getenv("WASMSHIM_CACHE_DIR");  // NOLINT(concurrency-mt-unsafe): read-only
  return env != nullptr && env[0] != '\0' ? env : "/var/lib/wasmshim/cache";
}

std::string ModuleCache::key(std::initializer_list<std::string> parts) {
  Sha256 digest;
  for (const std::string& part : parts) {
    const std::string length = std::to_string(part.size()) + ":";
    digest.update(length.data(), length.size()).update(part.data(), part.size());
  }
  return digest.hex();
}

bool ModuleCache::ensure_dir() const {
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  return !error && std::filesystem::is_directory(dir_, error);
}

std::optional<std::string> ModuleCache::read(const std::string& name) const {
  if (!enabled()) {
    return std::nullopt;
  }
  std::ifstream in(path(name), std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) {
    return std::nullopt;
  }
  return bytes.str();
}

std::string ModuleCache::temporary_path(const std::string& name) const {
  static std::atomic<unsigned> counter{0};
  return path("." + name + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++));
}

bool ModuleCache::publish(const std::string& temporary, const std::string& name) const {
  if (::rename(temporary.c_str(), path(name).c_str()) != 0) {
    ::unlink(temporary.c_str());
    return false;
  }
  return true;
}

bool ModuleCache::write(const std::string& name, const std::string& bytes) const {
  if (!enabled() || !ensure_dir()) {
    return false;
  }
  std::string temporary = temporary_path(name);
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return false;
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      ::unlink(temporary.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temporary.c_str());
    return false;
  }
  return publish(temporary, name);
}

void ModuleCache::remove(const std::string& name) const {
  ::unlink(path(name).c_str());
}

}  // namespace wasmshim::wasm
