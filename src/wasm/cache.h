// Private: the content-addressed cache of translated C and compiled modules.
// Entries are written whole to a temporary name, synced, renamed into place
// and the directory synced, so a reader (another process included, or the
// next boot) sees a whole entry or none. Compiled objects are sealed (see
// sealed_object.h) and checked before they are mapped.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "wasmshim/base/unique_fd.h"

namespace wasmshim::wasm {

using base::UniqueFd;

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

// Where the engine's diagnostics go (EngineOptions::log); empty: nowhere.
using LogSink = std::function<void(std::string_view)>;

class ModuleCache {
 public:
  // An empty dir disables the cache. The directory is created on first write.
  explicit ModuleCache(std::string dir, LogSink log = {})
      : dir_(std::move(dir)), log_(std::move(log)) {}

  bool enabled() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }

  // Hex SHA-256 over the parts, separated so that ("ab","c") != ("a","bc").
  static std::string key(std::initializer_list<std::string> parts);

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::optional<std::string> read(const std::string& name) const;
  // Writes atomically and durably; returns false (and leaves no partial
  // file) on failure, which is logged once (see report_unwritable).
  bool write(const std::string& name, std::string_view bytes) const;
  // The same for a compiled object, sealed.
  bool write_sealed(const std::string& name, std::string_view object) const;
  // A unique temporary path in the cache directory for a writer to fill and
  // then publish with seal_and_publish() or publish().
  std::string temporary_path(const std::string& name) const;
  // Renames a whole, synced file into place and syncs the directory.
  bool publish(const std::string& temporary, const std::string& name) const;
  // Seals the object a compiler wrote at `temporary`, then publishes it;
  // the temporary file is gone either way. Failure is logged once.
  bool seal_and_publish(const std::string& temporary, const std::string& name) const;
  // The entry, open, when its seal is sound; a damaged entry is removed
  // (and the removal logged), a missing one is nothing.
  UniqueFd open_sealed(const std::string& name) const;
  void remove(const std::string& name) const;
  // Creates the directory; false when it cannot be (logged once).
  bool ensure_dir() const;

  // Says once per process and directory that the cache cannot be written
  // (errno `error`) and modules run uncached.
  void report_unwritable(int error) const;
  void log(std::string_view message) const;
  const LogSink& log_sink() const { return log_; }

  // The module digest remembered for a file of this stamp, so that a start
  // from a cached object reads and hashes none of the module.
  std::optional<std::string> remembered_digest(const FileStamp& stamp) const;
  // Remembers it, unless the file changed in the last second: file times
  // are coarse (a clock tick), so a write in the same tick as the hashed
  // one would leave the stamp as it was.
  void remember_digest(const FileStamp& stamp, const std::string& digest) const;

 private:
  bool write_sealed_parts(const std::string& name, std::string_view bytes,
                          std::string_view trailer) const;

  std::string dir_;
  LogSink log_;
};

// WASMSHIM_CACHE_DIR, else /var/lib/wasmshim/cache.
std::string default_cache_dir();

}  // namespace wasmshim::wasm
