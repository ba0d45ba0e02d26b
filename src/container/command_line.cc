#include "wasmshim/container/command_line.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

extern char** environ;

namespace wasmshim::container {
namespace {

struct ArgumentArea {
  std::uintptr_t arg_start = 0;
  std::uintptr_t arg_end = 0;
  std::uintptr_t env_start = 0;
  std::uintptr_t env_end = 0;
};

// Fields 48 to 51 of /proc/self/stat; counted after the command name,
// which may hold spaces and parentheses.
bool read_argument_area(ArgumentArea& area) {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return false;
  }
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int number = 3; number <= 51 && fields >> field; ++number) {
    const auto value = static_cast<std::uintptr_t>(std::strtoull(field.c_str(), nullptr, 10));
    switch (number) {
      case 48:
        area.arg_start = value;
        break;
      case 49:
        area.arg_end = value;
        break;
      case 50:
        area.env_start = value;
        break;
      case 51:
        area.env_end = value;
        break;
      default:
        break;
    }
  }
  return area.arg_start != 0 && area.arg_end > area.arg_start;
}

bool environment_area_in_use(const ArgumentArea& area) {
  if (environ == nullptr) {
    return false;
  }
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const auto at = reinterpret_cast<std::uintptr_t>(*entry);
    if (at >= area.env_start && at < area.env_end) {
      return true;
    }
  }
  return false;
}

// The kernel's own record, moved to a copy: needs CAP_SYS_RESOURCE.
bool point_kernel_at_copy(const std::string& text) {
  // Read by the kernel for as long as the process lives: never freed.
  char* copy = new char[text.size()];
  std::copy(text.begin(), text.end(), copy);
  const auto start = reinterpret_cast<std::uintptr_t>(copy);
  // The kernel checks start <= end after each change; the heap lies below
  // the stack, where the original arguments are, so the start moves first.
  if (::prctl(PR_SET_MM, PR_SET_MM_ARG_START, start, 0, 0) != 0) {
    delete[] copy;
    return false;
  }
  // On failure the start already points into `copy`: it stays allocated.
  // NOLINTNEXTLINE(clang-analyzer-cplusplus.NewDeleteLeaks): kept on purpose
  return ::prctl(PR_SET_MM, PR_SET_MM_ARG_END, start + text.size(), 0, 0) == 0;
}

}  // namespace

bool set_command_line(const std::vector<std::string>& args) {
  std::string separated;  // NUL after each
  for (const std::string& arg : args) {
    separated += arg;
    separated += '\0';
  }
  if (separated.empty()) {
    return false;
  }
  if (point_kernel_at_copy(separated)) {
    return true;
  }
  // Otherwise the original arguments are overwritten in place (the way
  // setproctitle does it). The area's addresses are read once: processes
  // forked after that (the daemon's zygote and its containers) have the
  // same ones, and /proc/self/stat is not cheap to generate.
  static ArgumentArea area;
  if (area.arg_start == 0 && !read_argument_area(area)) {
    area = {};
    return false;
  }
  // NOLINTNEXTLINE(performance-no-int-to-ptr): an address the kernel gave
  auto* begin = reinterpret_cast<char*>(area.arg_start);
  const std::size_t arg_size = area.arg_end - area.arg_start;
  if (separated.size() <= arg_size) {
    std::copy(separated.begin(), separated.end(), begin);
    std::memset(begin + separated.size(), 0, arg_size - separated.size());
    return true;
  }
  // Longer: one string, spaces between the arguments, running on into the
  // environment's strings if nothing uses them any more (the kernel then
  // shows up to the first NUL); cut short where the room ends.
  std::size_t room = arg_size;
  if (area.env_start == area.arg_end && area.env_end > area.env_start &&
      !environment_area_in_use(area)) {
    room = area.env_end - area.arg_start;
  }
  std::string joined = separated.substr(0, separated.size() - 1);
  std::replace(joined.begin(), joined.end(), '\0', ' ');
  joined.resize(std::min(joined.size(), room - 1));
  std::copy(joined.begin(), joined.end(), begin);
  std::memset(begin + joined.size(), 0, room - joined.size());
  return true;
}

std::vector<std::string> command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start < all.size()) {
    auto end = all.find('\0', start);
    if (end == std::string::npos) {
      end = all.size();
    }
    args.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

}  // namespace wasmshim::container
