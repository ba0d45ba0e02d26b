#include "export_slots.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "small_files.h"

namespace wasmshim::shim {
namespace {

// Read before a process starts threads (`delete`, `start`, the daemon's
// exporter child) or at the daemon's end, when nothing changes it.
const char* env(const char* name) {
  return std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
}

bool parse_count(const char* text, std::size_t& count) {
  if (text == nullptr || *text == '\0') {
    return false;
  }
  const char* end = text + std::char_traits<char>::length(text);
  std::size_t value = 0;
  const auto [rest, error] = std::from_chars(text, end, value);
  if (error != std::errc() || rest != end) {
    return false;
  }
  count = value;
  return true;
}

base::UniqueFd open_lock_file(const std::string& path) {
  return base::UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
}

// The "dropped" file, locked while its count is read and rewritten.
class LockedCounter {
 public:
  explicit LockedCounter(const ExportSlots& slots)
      : fd_(open_lock_file(slots.directory + "/dropped")) {
    locked_ = fd_.valid() && ::flock(fd_.get(), LOCK_EX) == 0;
  }
  std::uint64_t read() const {
    char text[32] = {};
    const ssize_t n = locked_ ? ::pread(fd_.get(), text, sizeof(text) - 1, 0) : -1;
    std::uint64_t value = 0;
    if (n > 0) {
      std::from_chars(text, text + n, value);
    }
    return value;
  }
  void write(std::uint64_t value) const {
    if (!locked_) {
      return;
    }
    const std::string text = std::to_string(value) + "\n";
    if (::ftruncate(fd_.get(), 0) == 0) {
      (void)::pwrite(fd_.get(), text.data(), text.size(), 0);
    }
  }

 private:
  base::UniqueFd fd_;
  bool locked_ = false;
};

}  // namespace

ExportSlots export_slots_from_env(std::string* problem) {
  ExportSlots slots;
  std::size_t count = 0;
  const char* text = env("WASMSHIM_EXPORT_SLOTS");
  if (parse_count(text, count)) {
    slots.count = count;
  } else if (text != nullptr && problem != nullptr) {
    *problem = "WASMSHIM_EXPORT_SLOTS=\"" + std::string(text) +
               "\" is not a count of slots: " + std::to_string(slots.count) + " are used";
  }
  if (const char* directory = env("WASMSHIM_EXPORT_SLOTS_DIR");
      directory != nullptr && *directory != '\0') {
    slots.directory = directory;
  }
  return slots;
}

ExportSlot take_export_slot(const ExportSlots& slots) {
  if (slots.count == 0) {
    return {};
  }
  std::error_code error;
  std::filesystem::create_directories(slots.directory, error);
  for (std::size_t i = 0; i < slots.count; ++i) {
    base::UniqueFd lock = open_lock_file(slots.directory + "/slot-" + std::to_string(i));
    if (!lock.valid()) {
      return {};  // the directory is not usable: nobody lingers
    }
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) {
      return ExportSlot(std::move(lock));
    }
  }
  return {};
}

std::chrono::milliseconds export_wait(const ExportSlots& slots, const ExportSlot& slot,
                                      std::chrono::milliseconds timeout) {
  return slot.held() ? timeout : std::min(timeout, slots.grace);
}

void count_dropped_export(const ExportSlots& slots) {
  std::error_code error;
  std::filesystem::create_directories(slots.directory, error);
  const LockedCounter counter(slots);
  counter.write(counter.read() + 1);
}

std::uint64_t dropped_export_count(const ExportSlots& slots) {
  return LockedCounter(slots).read();
}

void end_process_after(std::chrono::milliseconds after) {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  ::sigaction(SIGALRM, &default_action, nullptr);
  sigset_t alarm;
  sigemptyset(&alarm);
  sigaddset(&alarm, SIGALRM);
  pthread_sigmask(SIG_UNBLOCK, &alarm, nullptr);
  const auto ms = std::max<std::int64_t>(after.count(), 1);
  itimerval timer{};
  timer.it_value.tv_sec = ms / 1000;
  timer.it_value.tv_usec = (ms % 1000) * 1000;
  ::setitimer(ITIMER_REAL, &timer, nullptr);
}

}  // namespace wasmshim::shim
