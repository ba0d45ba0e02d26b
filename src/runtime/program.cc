#include "wasmshim/runtime/program.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>

#include "wasmshim/ttrpc/unix_socket.h"
#include "wasmshim/wasm/engine.h"

namespace wasmshim::runtime {
namespace {

using base::UniqueFd;

// The kernel reads at most this much of a #! line (BINPRM_BUF_SIZE).
constexpr std::size_t kShebangLimit = 256;

std::string join(const std::string& directory, const std::string& name) {
  if (name.starts_with("/")) {
    return name;
  }
  return directory.ends_with("/") ? directory + name : directory + "/" + name;
}

// Opens `path` as the container would: resolved inside `root`, symlinks
// and ".." included, never outside it. Sets errno on failure.
UniqueFd open_in_root(const UniqueFd& root, const std::string& path) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_IN_ROOT;
  const std::string relative = path.starts_with("/") ? path.substr(1) : path;
  return UniqueFd(static_cast<int>(::syscall(
      SYS_openat2, root.get(), relative.empty() ? "." : relative.c_str(), &how, sizeof(how))));
}

struct Candidate {
  UniqueFd file;
  struct stat status {};
};

// A regular file at `path`, or nothing (errno says why).
std::optional<Candidate> regular_file(const UniqueFd& root, const std::string& path) {
  Candidate candidate{open_in_root(root, path), {}};
  if (!candidate.file.valid() || ::fstat(candidate.file.get(), &candidate.status) != 0) {
    return std::nullopt;
  }
  if (!S_ISREG(candidate.status.st_mode)) {
    errno = S_ISDIR(candidate.status.st_mode) ? EISDIR : EACCES;
    return std::nullopt;
  }
  return candidate;
}

bool executable(const struct stat& status) {
  return (status.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
}

std::string path_variable(const std::vector<std::string>& env) {
  for (const auto& entry : env) {
    if (entry.starts_with("PATH=")) {
      return entry.substr(5);
    }
  }
  return kDefaultPath;
}

struct Found {
  std::string path;
  Candidate candidate;
};

// A bare name through PATH: the first executable regular file, as exec
// would find it. An empty PATH entry is the working directory.
std::optional<Found> search_path(const UniqueFd& root, const std::string& name,
                                 const std::string& cwd, const std::vector<std::string>& env) {
  const std::string path = path_variable(env);
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = path.find(':', begin);
    if (end == std::string::npos) {
      end = path.size();
    }
    std::string directory = path.substr(begin, end - begin);
    directory = directory.empty() ? cwd : join(cwd, directory);
    const std::string full = join(directory, name);
    if (auto candidate = regular_file(root, full); candidate && executable(candidate->status)) {
      return Found{full, std::move(*candidate)};
    }
    begin = end + 1;
  }
  return std::nullopt;
}

std::string read_head(const UniqueFd& file) {
  std::string head(kShebangLimit, '\0');
  ssize_t n = 0;
  do {
    n = ::pread(file.get(), head.data(), head.size(), 0);
  } while (n < 0 && errno == EINTR);
  head.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return head;
}

// The interpreter a #! line names: the first word after "#!".
std::string interpreter_of(std::string_view head) {
  head.remove_prefix(2);
  const std::size_t line_end = head.find('\n');
  std::string_view line = head.substr(0, line_end);
  const std::size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    return {};
  }
  line.remove_prefix(start);
  return std::string(line.substr(0, line.find_first_of(" \t\r")));
}

// What can be refused of a module without reading its code: its framing and
// imports the engine does not provide. The rest fails at the start.
void check_module(const UniqueFd& file, const std::string& path) {
  try {
    wasm::check_imports(path, wasm::read_module_outline(file.get(), path));
  } catch (const wasm::ModuleError& e) {
    throw ProgramError(e.what(), false);
  }
}

ContainerProgram classify(const UniqueFd& root, Found found, const std::string& cwd) {
  const std::string head = read_head(found.candidate.file);
  const std::string& path = found.path;
  if (head.size() >= 4 && std::memcmp(head.data(), "\0asm", 4) == 0) {
    check_module(found.candidate.file, path);
    return {ProgramKind::wasm, path, {}};
  }
  const bool elf = head.size() >= 4 && std::memcmp(head.data(),
                                                   "\x7f"
                                                   "ELF",
                                                   4) == 0;
  const bool script = head.size() >= 2 && head[0] == '#' && head[1] == '!';
  if (!elf && !script) {
    throw ProgramError(path +
                           " is neither a Wasm module (\\0asm) nor a native executable (ELF or "
                           "a #! script)",
                       false);
  }
  if (!executable(found.candidate.status)) {
    throw ProgramError(
        path + " is a native " + (elf ? "executable" : "script") + " without execute permission",
        false);
  }
  if (elf) {
    return {ProgramKind::native, path, {}};
  }
  std::string interpreter = interpreter_of(head);
  if (interpreter.empty()) {
    throw ProgramError(path + " is a script whose #! line names no interpreter", false);
  }
  auto runs = regular_file(root, join(cwd, interpreter));
  if (!runs) {
    throw ProgramError(path + " is a script for " + interpreter +
                           ", which is not in the container's root filesystem (" +
                           std::generic_category().message(errno) + ")",
                       true);
  }
  if (!executable(runs->status)) {
    throw ProgramError(path + " is a script for " + interpreter + ", which is not executable",
                       false);
  }
  return {ProgramKind::native, path, std::move(interpreter)};
}

}  // namespace

ContainerProgram find_program(const std::string& root, const std::string& name,
                              const std::string& cwd, const std::vector<std::string>& env) {
  UniqueFd root_dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_dir.valid()) {
    throw ProgramError("cannot open the container's root filesystem " + root + ": " +
                           std::generic_category().message(errno),
                       true);
  }
  const bool bare = name.find('/') == std::string::npos;
  std::optional<Found> found;
  if (bare) {
    found = search_path(root_dir, name, cwd, env);
  }
  const bool on_path = found.has_value();
  if (!found) {
    // A name with a slash, or a bare one not on PATH: the working
    // directory, where a Wasm module named bare has always been looked for.
    const std::string path = join(cwd, name);
    auto candidate = regular_file(root_dir, path);
    if (!candidate) {
      throw ProgramError(name + ": no such file in the container's root filesystem" +
                             (bare ? " (looked up in PATH and in " + cwd + ")" : "") + " (" +
                             std::generic_category().message(errno) + ")",
                         errno != EISDIR && errno != EACCES);
    }
    found = Found{path, std::move(*candidate)};
  }
  ContainerProgram program = classify(root_dir, std::move(*found), cwd);
  if (bare && !on_path && program.kind == ProgramKind::native) {
    // exec looks a bare name up in PATH only, never in the working directory.
    throw ProgramError(name + ": executable file not found in PATH", true);
  }
  return program;
}

}  // namespace wasmshim::runtime
