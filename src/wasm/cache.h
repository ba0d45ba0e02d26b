// Private: the content-addressed cache of translated C and compiled modules.
// Entries are written to a temporary name and renamed into place, so a reader
// (another process included) sees a whole entry or none.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>

namespace wasmshim::wasm {

// What stat says of a file, as far as it tells one content from another: a
// write changes the ctime, which only the kernel sets. On overlayfs a file
// of a lower layer keeps its layer's device and inode in every mount.
struct FileStamp {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

std::optional<FileStamp> stamp_of(const std::string& path);

class ModuleCache {
 public:
  // An empty dir disables the cache. The directory is created on first write.
  explicit ModuleCache(std::string dir) : dir_(std::move(dir)) {}

  bool enabled() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }

  // Hex SHA-256 over the parts, separated so that ("ab","c") != ("a","bc").
  static std::string key(std::initializer_list<std::string> parts);

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::optional<std::string> read(const std::string& name) const;
  // Writes atomically; returns false (and leaves no partial file) on failure.
  bool write(const std::string& name, const std::string& bytes) const;
  // A unique temporary path in the cache directory for a writer to fill and
  // then publish with publish().
  std::string temporary_path(const std::string& name) const;
  bool publish(const std::string& temporary, const std::string& name) const;
  void remove(const std::string& name) const;
  // Creates the directory; false when it cannot be.
  bool ensure_dir() const;

  // The module digest remembered for a file of this stamp, so that a start
  // from a cached object reads and hashes none of the module.
  std::optional<std::string> remembered_digest(const FileStamp& stamp) const;
  // Remembers it, unless the file changed in the last second: file times
  // are coarse (a clock tick), so a write in the same tick as the hashed
  // one would leave the stamp as it was.
  void remember_digest(const FileStamp& stamp, const std::string& digest) const;

 private:
  std::string dir_;
};

// WASMSHIM_CACHE_DIR, else /var/lib/wasmshim/cache.
std::string default_cache_dir();

}  // namespace wasmshim::wasm
