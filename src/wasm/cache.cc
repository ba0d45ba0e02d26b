#include "cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>

#include "sealed_object.h"
#include "wasmshim/base/fd_io.h"
#include "wasmshim/base/sha256.h"

namespace wasmshim::wasm {

namespace {

// A rename is durable once its directory is synced.
bool sync_directory(const std::string& dir) {
  const UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return fd.valid() && ::fsync(fd.get()) == 0;
}

}  // namespace

std::string default_cache_dir() {
  const char* env = std::getenv("WASMSHIM_CACHE_DIR");  // NOLINT(concurrency-mt-unsafe): read-only
  return env != nullptr && env[0] != '\0' ? env : "/var/lib/wasmshim/cache";
}

std::string ModuleCache::key(std::initializer_list<std::string> parts) {
  base::Sha256 digest;
  for (const std::string& part : parts) {
    const std::string length = std::to_string(part.size()) + ":";
    digest.update(length.data(), length.size()).update(part.data(), part.size());
  }
  return digest.hex();
}

bool ModuleCache::ensure_dir() const {
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  if (error || !std::filesystem::is_directory(dir_, error)) {
    report_unwritable(error ? error.value() : ENOTDIR);
    return false;
  }
  return true;
}

void ModuleCache::log(std::string_view message) const {
  if (log_) {
    log_(message);
  }
}

void ModuleCache::report_unwritable(int error) const {
  // Once per process and directory: every start of every module would
  // otherwise say the same.
  static std::mutex mu;
  static std::set<std::string> reported;
  {
    std::lock_guard lock(mu);
    if (!reported.insert(dir_).second) {
      return;
    }
  }
  log("cache " + dir_ + " cannot be written (" + std::generic_category().message(error) +
      "): modules run without it until it can");
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
    report_unwritable(errno);
    ::unlink(temporary.c_str());
    return false;
  }
  // Not syncing the directory loses only the entry, never its content.
  (void)sync_directory(dir_);
  return true;
}

bool ModuleCache::write(const std::string& name, std::string_view bytes) const {
  return write_sealed_parts(name, bytes, {});
}

bool ModuleCache::write_sealed(const std::string& name, std::string_view object) const {
  return write_sealed_parts(name, object, seal_trailer(object));
}

bool ModuleCache::write_sealed_parts(const std::string& name, std::string_view bytes,
                                     std::string_view trailer) const {
  if (!enabled() || !ensure_dir()) {
    return false;
  }
  const std::string temporary = temporary_path(name);
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    report_unwritable(errno);
    return false;
  }
  if (!base::write_all(fd.get(), bytes) || !base::write_all(fd.get(), trailer) ||
      ::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    report_unwritable(errno);
    ::unlink(temporary.c_str());
    return false;
  }
  return publish(temporary, name);
}

bool ModuleCache::seal_and_publish(const std::string& temporary, const std::string& name) const {
  const UniqueFd fd(::open(temporary.c_str(), O_RDWR | O_CLOEXEC));
  const int error = fd.valid() ? seal_fd(fd.get()) : errno;
  if (error != 0) {
    if (error == EBADMSG) {
      log("the compiler left an incomplete object for " + name + ": not cached");
    } else {
      report_unwritable(error);
    }
    ::unlink(temporary.c_str());
    return false;
  }
  return publish(temporary, name);
}

UniqueFd ModuleCache::open_sealed(const std::string& name) const {
  if (!enabled()) {
    return {};
  }
  UniqueFd fd(::open(path(name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return {};
  }
  const std::string problem = seal_problem(fd.get());
  if (!problem.empty()) {
    remove(name);
    log("cache entry " + path(name) + " is damaged, " + problem + ": removed, to be rebuilt");
    return {};
  }
  return fd;
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
