#include "aot_tier.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace wasmshim::wasm {
namespace {

// -O2: vectorizes loops -O1 leaves alone (matrix multiply 1.4x native at -O1, ~1.1x at
// -O2); the build runs in the background, so its extra compile time costs no start.
const std::vector<std::string>& compiler_flags() {
  // WASMSHIM_USE_GS: memory through the GS base (see the prelude); the engine
  // refuses this tier where the base cannot be set. No sibling-call
  // optimization: it turns unbounded recursion, which must exhaust the stack
  // and trap, into a loop that never ends.
  static const std::vector<std::string> flags = {"-O2",
                                                 "-fno-optimize-sibling-calls",
                                                 "-DWASMSHIM_USE_GS",
                                                 "-shared",
                                                 "-fPIC",
                                                 "-nostdinc",
                                                 "-fno-strict-aliasing",
                                                 "-w"};
  return flags;
}

std::string compiler() {
  const char* cc = std::getenv("WASMSHIM_CC");  // NOLINT(concurrency-mt-unsafe): read-only
  return cc != nullptr && cc[0] != '\0' ? cc : "cc";
}

std::vector<std::string> compile_argv(const std::string& c_path, const std::string& output,
                                      const std::string& key) {
  std::vector<std::string> argv = {compiler()};
  argv.insert(argv.end(), compiler_flags().begin(), compiler_flags().end());
  argv.push_back("-DWASMSHIM_CACHE_KEY=\"" + key + "\"");
  argv.insert(argv.end(), {"-o", output, c_path, "-lm"});
  return argv;
}

// Runs argv (PATH lookup) with stderr into error_path; returns the wait status.
int spawn_and_wait(const std::vector<std::string>& argv, const std::string& error_path,
                   bool detach) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, error_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  if (detach) {
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  }
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
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > limit) {
    text.resize(limit);
    text += "\n[...]";
  }
  return text;
}

class SharedObjectModule : public CompiledModule {
 public:
  SharedObjectModule(void* handle, const char* tier) : handle_(handle), tier_(tier) {}
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
  const char* tier_;
};

constexpr auto kStaleLock = std::chrono::minutes(30);

}  // namespace

std::string aot_compiler_id() {
  std::string id = compiler();
  for (const std::string& flag : compiler_flags()) {
    id += " " + flag;
  }
  return id;
}

void compile_aot(const std::string& c_path, const std::string& output, const std::string& key) {
  std::string error_path = output + ".log";
  int status = spawn_and_wait(compile_argv(c_path, output, key), error_path, false);
  std::string messages = read_text(error_path, 4000);
  ::unlink(error_path.c_str());
  if (status == -1) {
    throw std::runtime_error("cannot start the C compiler \"" + compiler() +
                             "\" (set WASMSHIM_CC)");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("the C compiler failed on " + c_path + ":\n" + messages);
  }
}

bool start_background_aot(const ModuleCache& cache, const std::string& c_name,
                          const std::string& so_name, const std::string& key) {
  if (::access(cache.path(so_name).c_str(), F_OK) == 0) {
    return false;  // built already
  }
  // A build that failed left its compiler's messages: every start retrying
  // it would spend a compile on each (`wasmshim compile` shows the error).
  if (::access(cache.path(so_name + ".log").c_str(), F_OK) == 0) {
    return false;
  }
  std::string lock = cache.path(so_name + ".lock");
  struct stat st {};
  if (::stat(lock.c_str(), &st) == 0) {
    auto age =
        std::chrono::system_clock::now() - std::chrono::system_clock::from_time_t(st.st_mtime);
    if (age < kStaleLock) {
      return false;  // a build is under way
    }
    ::unlink(lock.c_str());
  }
  int fd = ::open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return false;
  }
  ::close(fd);
  std::string temporary = cache.temporary_path(so_name);
  // The shell backgrounds the job and exits at once, so the job outlives us
  // without becoming our zombie; it publishes with an atomic rename, or
  // leaves the log that stops later starts from trying again.
  std::string script =
      "( if nice -n 10 \"$@\"; then mv -f \"$TMP\" \"$FINAL\"; "
      "else echo \"the C compiler failed (exit status $?)\" >&2; fi; "
      "rm -f \"$TMP\" \"$LOCK\"; [ -s \"$LOG\" ] || rm -f \"$LOG\" ) "
      "</dev/null >/dev/null 2>>\"$LOG\" &";
  std::vector<std::string> argv = {
      "/bin/sh",
      "-c",
      "TMP=\"$1\" FINAL=\"$2\" LOCK=\"$3\" LOG=\"$4\"; shift 4; " + script,
      "sh",
      temporary,
      cache.path(so_name),
      lock,
      cache.path(so_name + ".log")};
  std::vector<std::string> compile = compile_argv(cache.path(c_name), temporary, key);
  argv.insert(argv.end(), compile.begin(), compile.end());
  int status = spawn_and_wait(argv, "/dev/null", true);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ::unlink(lock.c_str());
    return false;
  }
  return true;
}

std::unique_ptr<CompiledModule> load_aot(const ModuleCache& cache, const std::string& so_name,
                                         const std::string& key) {
  return load_cached_object(cache, so_name, key, "aot");
}

std::unique_ptr<CompiledModule> load_cached_object(const ModuleCache& cache,
                                                   const std::string& name, const std::string& key,
                                                   const char* tier) {
  if (!cache.enabled()) {
    return nullptr;
  }
  std::string path = cache.path(name);
  if (::access(path.c_str(), R_OK) != 0) {
    return nullptr;
  }
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    cache.remove(name);  // not a loadable object: damaged
    return nullptr;
  }
  const char* stored = static_cast<const char*>(::dlsym(handle, "wasmshim_cache_key"));
  if (stored == nullptr || key != stored) {
    ::dlclose(handle);
    cache.remove(name);  // someone else's object under our name
    return nullptr;
  }
  auto module = std::make_unique<SharedObjectModule>(handle, tier);
  if (!module->resolve()) {
    cache.remove(name);
    return nullptr;
  }
  return module;
}

}  // namespace wasmshim::wasm
