#include "cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
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

namespace {

std::int64_t nanoseconds(const timespec& time) {
  return static_cast<std::int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

std::string digest_entry_name(const FileStamp& stamp) {
  return "digest-" + ModuleCache::key({std::to_string(stamp.device), std::to_string(stamp.inode),
                                       std::to_string(stamp.size), std::to_string(stamp.mtime_ns),
                                       std::to_string(stamp.ctime_ns)});
}

bool is_digest(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

std::optional<FileStamp> stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::nullopt;
  }
  return FileStamp{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
                   static_cast<std::int64_t>(st.st_size), nanoseconds(st.st_mtim),
                   nanoseconds(st.st_ctim)};
}

std::optional<std::string> ModuleCache::remembered_digest(const FileStamp& stamp) const {
  auto text = read(digest_entry_name(stamp));
  if (!text || !is_digest(*text)) {
    return std::nullopt;
  }
  return text;
}

void ModuleCache::remember_digest(const FileStamp& stamp, const std::string& digest) const {
  constexpr std::int64_t kSettledNs = 1'000'000'000;
  const std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  if (!is_digest(digest) || now_ns - stamp.ctime_ns < kSettledNs ||
      now_ns - stamp.mtime_ns < kSettledNs) {
    return;
  }
  (void)write(digest_entry_name(stamp), digest);
}

}  // namespace wasmshim::wasm
