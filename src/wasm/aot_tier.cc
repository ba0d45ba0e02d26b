#include "aot_tier.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "c_partition.h"
#include "wasmshim/base/fd_io.h"

extern char** environ;

namespace wasmshim::wasm {
namespace {

// -O2: vectorizes loops -O1 leaves alone (the matrix multiply benchmark shows it);
// the build runs in the background, so its extra compile time costs no start.
// No sibling-call optimization: it turns unbounded recursion, which must
// exhaust the stack and trap, into a loop that never ends.
const std::vector<std::string>& common_flags() {
  static const std::vector<std::string> flags = {
      "-O2", "-fno-optimize-sibling-calls", "-fPIC", "-nostdinc", "-fno-strict-aliasing", "-w"};
  return flags;
}

// What each attempt adds to the common flags, in order of preference.
// WASMSHIM_USE_GS: memory through the GS base (see the prelude); the engine
// refuses this tier where the base cannot be set. gcc 12 crashes (an
// internal compiler error in its dominator pass) on some ordinary
// translations whose accesses go through __seg_gs: without full redundancy
// elimination it does not, and plain base-plus-address accesses avoid
// __seg_gs altogether. A compiler that fails on one attempt gets the next,
// so a compiler's bug costs some speed, never the module its aot tier.
const std::vector<std::vector<std::string>>& attempt_flags() {
  static const std::vector<std::vector<std::string>> attempts = {
      {"-DWASMSHIM_USE_GS"}, {"-DWASMSHIM_USE_GS", "-fno-tree-fre"}, {}};
  return attempts;
}

// The first attempt's flags, as the cache key has always named them.
std::vector<std::string> flags_of_attempt(std::size_t attempt) {
  std::vector<std::string> flags = common_flags();
  const auto& added = attempt_flags().at(attempt);
  flags.insert(flags.begin() + 2, added.begin(), added.end());
  return flags;
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read-only
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) {
      return true;
    }
  }
  return false;
}

// WASMSHIM_CC, else clang 22 where it is installed (it optimizes a large
// translation with half gcc 12's CPU time and a fifth of its memory), else cc.
std::string compiler() {
  const char* cc = std::getenv("WASMSHIM_CC");  // NOLINT(concurrency-mt-unsafe): read-only
  if (cc != nullptr && cc[0] != '\0') {
    return cc;
  }
  static constexpr const char* kPreferred = "clang-22";
  return on_path(kPreferred) ? kPreferred : "cc";
}

std::string part_object(const std::string& output, std::size_t part) {
  return output + ".p" + std::to_string(part) + ".o";
}

}  // namespace

std::size_t aot_compile_attempts() {
  return attempt_flags().size();
}

std::vector<std::vector<std::string>> aot_build_commands(const std::string& c_path,
                                                         std::size_t parts,
                                                         const std::string& output,
                                                         const std::string& key,
                                                         std::size_t attempt) {
  std::vector<std::string> compile = {compiler()};
  const std::vector<std::string> flags = flags_of_attempt(attempt);
  compile.insert(compile.end(), flags.begin(), flags.end());
  compile.push_back("-DWASMSHIM_CACHE_KEY=\"" + key + "\"");
  if (parts <= 1) {
    compile.insert(compile.end(), {"-shared", "-o", output, c_path, "-lm"});
    return {compile};
  }
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> link = {compiler(), "-shared", "-o", output};
  for (std::size_t part = 0; part < parts; ++part) {
    std::vector<std::string>& command = commands.emplace_back(compile);
    command.insert(command.end(), {"-DWASMSHIM_PART=" + std::to_string(part), "-c", "-o",
                                   part_object(output, part), c_path});
    link.push_back(part_object(output, part));
  }
  link.push_back("-lm");
  commands.push_back(std::move(link));
  return commands;
}

std::vector<std::string> aot_part_objects(const std::string& output, std::size_t parts) {
  std::vector<std::string> objects;
  for (std::size_t part = 0; parts > 1 && part < parts; ++part) {
    objects.push_back(part_object(output, part));
  }
  return objects;
}

std::size_t translation_parts(const std::string& c_path) {
  std::ifstream in(c_path);
  std::string head(512, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return parts_of_translation(head);
}

bool compiler_refused(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status) != 0;
  }
  // A compiler that crashed by itself; SIGKILL is the OOM killer or an
  // operator, which another attempt would not escape.
  return WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL;
}

namespace {

// Runs argv (PATH lookup) with stderr into error_path; returns the wait status.
int spawn_and_wait(const std::vector<std::string>& argv, const std::string& error_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, error_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    return -1;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string read_text(const std::string& path, std::size_t limit) {
  std::string text = base::read_file(path).value_or(std::string());
  if (text.size() > limit) {
    text.resize(limit);
    text += "\n[...]";
  }
  return text;
}

class SharedObjectModule : public CompiledModule {
 public:
  // The fd the object was opened from stays open with it (see
  // LoadedFiles).
  SharedObjectModule(void* handle, std::shared_ptr<UniqueFd> fd, const char* tier)
      : handle_(handle), fd_(std::move(fd)), tier_(tier) {}
  ~SharedObjectModule() override { ::dlclose(handle_); }
  SharedObjectModule(const SharedObjectModule&) = delete;
  SharedObjectModule& operator=(const SharedObjectModule&) = delete;
  std::string tier() const override { return tier_; }

  bool resolve() {
    glue_.bind = reinterpret_cast<abi::BindFn>(::dlsym(handle_, abi::kBindSymbol));
    glue_.instance_size =
        reinterpret_cast<abi::InstanceSizeFn>(::dlsym(handle_, abi::kInstanceSizeSymbol));
    glue_.instantiate =
        reinterpret_cast<abi::InstantiateFn>(::dlsym(handle_, abi::kInstantiateSymbol));
    glue_.free = reinterpret_cast<abi::FreeFn>(::dlsym(handle_, abi::kFreeSymbol));
    glue_.memory = reinterpret_cast<abi::MemoryFn>(::dlsym(handle_, abi::kMemorySymbol));
    glue_.start = reinterpret_cast<abi::StartFn>(::dlsym(handle_, abi::kStartSymbol));
    glue_.import_list = static_cast<const char*>(::dlsym(handle_, abi::kImportListSymbol));
    return glue_.bind && glue_.instance_size && glue_.instantiate && glue_.free && glue_.memory &&
           glue_.import_list;
  }

 private:
  void* handle_;
  std::shared_ptr<UniqueFd> fd_;
  const char* tier_;
};

// The loader knows an object opened as /proc/self/fd/N by that name, and
// answers a later dlopen of the same name with it; one of a file it has
// loaded already under another name gets that name added. So N must stay
// open, and name no other file, while the object is loaded, and a file is
// opened under one name only: the first loader's fd, shared by all loaders
// of that file (device and inode) while any is loaded.
class LoadedFiles {
 public:
  // The fd to load the file open on `fd` by: a loaded copy's, else `fd`.
  std::shared_ptr<UniqueFd> share(UniqueFd fd) {
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
      return std::make_shared<UniqueFd>(std::move(fd));
    }
    const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
    std::lock_guard lock(mu_);
    std::erase_if(by_file_, [](const auto& entry) { return entry.second.expired(); });
    if (auto loaded = by_file_[id].lock()) {
      return loaded;
    }
    auto shared = std::make_shared<UniqueFd>(std::move(fd));
    by_file_[id] = shared;
    return shared;
  }

 private:
  std::mutex mu_;
  std::map<std::pair<dev_t, ino_t>, std::weak_ptr<UniqueFd>> by_file_;
};

LoadedFiles& loaded_files() {
  static LoadedFiles files;
  return files;
}

// dlopen of the very file that was checked: by its fd, where /proc is there.
void* open_object(int fd, const std::string& path) {
  const std::string by_fd = "/proc/self/fd/" + std::to_string(fd);
  if (::access(by_fd.c_str(), F_OK) == 0) {
    return ::dlopen(by_fd.c_str(), RTLD_NOW | RTLD_LOCAL);
  }
  return ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
}

}  // namespace

std::string aot_compiler_id() {
  std::string id = compiler();
  for (const std::string& flag : flags_of_attempt(0)) {
    id += " " + flag;
  }
  return id;
}

namespace {

// Runs each command of a build in turn; the wait status of the first that
// fails, or of the last.
int run_build(const std::vector<std::vector<std::string>>& commands,
              const std::string& error_path) {
  int status = -1;
  for (const std::vector<std::string>& command : commands) {
    status = spawn_and_wait(command, error_path);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      break;
    }
  }
  return status;
}

}  // namespace

void compile_aot(const std::string& c_path, const std::string& output, const std::string& key) {
  const std::string error_path = output + ".log";
  const std::size_t parts = translation_parts(c_path);
  std::string first_messages;
  bool built = false;
  for (std::size_t attempt = 0; attempt < aot_compile_attempts() && !built; ++attempt) {
    const int status =
        run_build(aot_build_commands(c_path, parts, output, key, attempt), error_path);
    std::string messages = read_text(error_path, 4000);
    ::unlink(error_path.c_str());
    if (status == -1) {
      throw std::runtime_error("cannot start the C compiler \"" + compiler() +
                               "\" (set WASMSHIM_CC)");
    }
    built = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (attempt == 0) {
      first_messages = std::move(messages);
    }
    if (!built && !compiler_refused(status)) {
      break;
    }
  }
  for (const std::string& object : aot_part_objects(output, parts)) {
    ::unlink(object.c_str());
  }
  if (!built) {
    ::unlink(output.c_str());
    throw std::runtime_error("the C compiler failed on " + c_path + ":\n" + first_messages);
  }
}

std::unique_ptr<CompiledModule> load_aot(const ModuleCache& cache, const std::string& so_name,
                                         const std::string& key) {
  return load_cached_object(cache, so_name, key, "aot");
}

std::unique_ptr<CompiledModule> load_object_fd(UniqueFd fd, const std::string& path,
                                               const std::string& key, const char* tier) {
  std::shared_ptr<UniqueFd> shared = loaded_files().share(std::move(fd));
  void* handle = open_object(shared->get(), path);
  if (handle == nullptr) {
    return nullptr;
  }
  const char* stored = static_cast<const char*>(::dlsym(handle, "wasmshim_cache_key"));
  if (stored == nullptr || key != stored) {
    ::dlclose(handle);
    return nullptr;
  }
  auto module = std::make_unique<SharedObjectModule>(handle, std::move(shared), tier);
  return module->resolve() ? std::move(module) : nullptr;
}

std::unique_ptr<CompiledModule> load_cached_object(const ModuleCache& cache,
                                                   const std::string& name, const std::string& key,
                                                   const char* tier) {
  // The seal is checked before anything is mapped: a file cut short would
  // map and then fault (SIGBUS) on its missing pages.
  UniqueFd fd = cache.open_sealed(name);
  if (!fd.valid()) {
    return nullptr;
  }
  auto module = load_object_fd(std::move(fd), cache.path(name), key, tier);
  if (!module) {
    cache.remove(name);  // sealed, but not loadable or someone else's under our name
    cache.log("cache entry " + cache.path(name) + " is not this module's object: removed");
  }
  return module;
}

}  // namespace wasmshim::wasm
