#include "aot_background.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <string_view>
#include <vector>

#include "aot_tier.h"
#include "sealed_object.h"
#include "wasmshim/base/fd_io.h"

namespace wasmshim::wasm {
namespace {

const char* outcome_name(BuildOutcome outcome) {
  switch (outcome) {
    case BuildOutcome::none:
      return "none";
    case BuildOutcome::running:
      return "running";
    case BuildOutcome::refused:
      return "refused";
    case BuildOutcome::transient:
      return "transient";
  }
  return "none";
}

std::chrono::seconds transient_delay(int attempts, std::chrono::seconds retry_delay) {
  const int doublings = std::clamp(attempts - 1, 0, 6);
  return retry_delay * (1 << doublings);
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An entry's lock file, flock()ed by whoever builds the entry or reads its
// state. Whoever holds it removes the file when done (the builder, by
// exiting, or this object), so a lock taken on a file since removed does
// not count.
class BuildLock {
 public:
  explicit BuildLock(std::string path) : path_(std::move(path)) {
    UniqueFd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid() || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      return;
    }
    struct stat held {};
    struct stat named {};
    if (::fstat(fd.get(), &held) == 0 && ::stat(path_.c_str(), &named) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
      fd_ = std::move(fd);
    }
  }
  ~BuildLock() {
    if (fd_.valid() && !handed_over_) {
      ::unlink(path_.c_str());
    }
  }
  BuildLock(const BuildLock&) = delete;
  BuildLock& operator=(const BuildLock&) = delete;
  bool held() const { return fd_.valid(); }
  // The build process has it now (inherited), and removes the file.
  void hand_over() { handed_over_ = true; }

 private:
  std::string path_;
  UniqueFd fd_;
  bool handed_over_ = false;
};

BuildState read_state(const ModuleCache& cache, const std::string& so_name) {
  auto text = cache.read(so_name + ".state");
  auto state = text ? BuildState::parse(*text) : std::nullopt;
  return state.value_or(BuildState{});
}

// A build that started and left no word was stopped from outside.
void settle_died_build(BuildState& state) {
  if (state.outcome == BuildOutcome::running) {
    state.outcome = BuildOutcome::transient;
    state.reported = false;
    state.why = "the build stopped before it finished (killed, or the machine went down)";
  }
}

// Logs an unreported failure and what follows from it; records that it did.
void report_once(const ModuleCache& cache, const std::string& so_name, BuildState& state,
                 NextStep next, std::chrono::seconds retry_delay, const std::string& module_name) {
  if (state.reported ||
      (state.outcome != BuildOutcome::refused && state.outcome != BuildOutcome::transient)) {
    return;
  }
  std::string message = module_name + ": the aot build ";
  if (state.outcome == BuildOutcome::refused) {
    message += "was refused by the C compiler (" + state.why + "; its messages are in " +
               cache.path(so_name + ".log") + ")";
  } else {
    message += "failed (" + state.why + ")";
  }
  if (next == NextStep::give_up) {
    message += ": the module stays on jit";
  } else {
    const auto delay = state.outcome == BuildOutcome::refused
                           ? retry_delay
                           : transient_delay(state.attempts, retry_delay);
    message += ": the module runs on jit, the build is tried again in " +
               std::to_string(delay.count()) + " s";
  }
  cache.log(message);
  state.reported = true;
  (void)cache.write(so_name + ".state", state.to_text());
}

// Text built in a fixed buffer: the build process is forked from a process
// that may have other threads, so it allocates nothing.
class FixedText {
 public:
  FixedText& add(const char* text) {
    while (*text != '\0' && size_ + 1 < sizeof buffer_) {
      buffer_[size_++] = *text++;
    }
    buffer_[size_] = '\0';
    return *this;
  }
  FixedText& add(long long number) {
    char digits[24];
    int count = 0;
    const bool negative = number < 0;
    unsigned long long value = negative ? 0ULL - static_cast<unsigned long long>(number)
                                        : static_cast<unsigned long long>(number);
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    if (negative) {
      add("-");
    }
    while (count > 0) {
      const char digit[2] = {digits[--count], '\0'};
      add(digit);
    }
    return *this;
  }
  const char* c_str() const { return buffer_; }
  std::size_t size() const { return size_; }

 private:
  char buffer_[512] = {};
  std::size_t size_ = 0;
};

// Everything the build process needs, made before it is forked.
struct BuildPlan {
  // Per attempt (aot_compile_attempts): the commands of the build, in
  // order (aot_build_commands).
  std::vector<std::vector<std::vector<std::string>>> arguments;
  std::vector<std::vector<std::vector<char*>>> argv;
  std::vector<std::string> part_objects;
  std::string dir;
  std::string temporary;
  std::string object;
  std::string log;
  std::string lock;
  std::string state;
  std::string state_temporary;
  int attempts = 0;
  std::int64_t started = 0;
};

void record_failure(const BuildPlan& plan, BuildOutcome outcome, const FixedText& why) {
  FixedText text;
  text.add("attempts=")
      .add(static_cast<long long>(plan.attempts))
      .add(" last=")
      .add(static_cast<long long>(plan.started))
      .add(" outcome=")
      .add(outcome_name(outcome))
      .add(" reported=0\n")
      .add(why.c_str())
      .add("\n");
  const int fd =
      ::open(plan.state_temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return;
  }
  const bool whole =
      base::write_all(fd, std::string_view(text.c_str(), text.size())) && ::fsync(fd) == 0;
  ::close(fd);
  if (!whole || ::rename(plan.state_temporary.c_str(), plan.state.c_str()) != 0) {
    ::unlink(plan.state_temporary.c_str());
  }
}

// Whether the compiler's messages say the disk was full.
bool log_says_no_space(int log_fd, bool& empty) {
  char buffer[4096];
  empty = true;
  static constexpr char kNoSpace[] = "No space left on device";
  ssize_t n = 0;
  off_t offset = 0;
  while ((n = ::pread(log_fd, buffer, sizeof buffer, offset)) > 0) {
    empty = false;
    if (::memmem(buffer, static_cast<std::size_t>(n), kNoSpace, sizeof kNoSpace - 1) != nullptr) {
      return true;
    }
    // Overlap the next read so a message across the boundary is seen.
    offset +=
        n > static_cast<ssize_t>(sizeof kNoSpace) ? n - static_cast<ssize_t>(sizeof kNoSpace) : n;
    if (n < static_cast<ssize_t>(sizeof buffer)) {
      break;
    }
  }
  return false;
}

// Runs one command of the build and waits for it; its wait status, or -1.
int run_command(char* const* argv, int log_fd) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execvp(argv[0], argv);
    static constexpr char kCannotRun[] = "cannot run the C compiler (set WASMSHIM_CC)\n";
    (void)base::write_all(STDERR_FILENO, std::string_view(kCannotRun, sizeof kCannotRun - 1));
    ::_exit(127);
  }
  if (pid < 0) {
    return -1;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return status;
}

// Runs the commands of `attempt` in turn; the wait status of the first that
// fails, or of the last.
int run_compiler(const BuildPlan& plan, std::size_t attempt, int log_fd) {
  int status = -1;
  for (const std::vector<char*>& argv : plan.argv[attempt]) {
    status = run_command(argv.data(), log_fd);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      break;
    }
  }
  return status;
}

// Seals and publishes the compiled object; 0 or an errno value.
int publish_object(const BuildPlan& plan) {
  const int fd = ::open(plan.temporary.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return errno;
  }
  const int error = seal_fd(fd);
  ::close(fd);
  if (error != 0) {
    return error;
  }
  if (::rename(plan.temporary.c_str(), plan.object.c_str()) != 0) {
    return errno;
  }
  const int dir_fd = ::open(plan.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return 0;
}

// Why the compiler's run failed, and whether it is worth another try.
BuildOutcome classify(int status, int log_fd, FixedText& why) {
  if (status == -1) {
    why.add("the compiler could not be started");
    return BuildOutcome::transient;
  }
  if (WIFSIGNALED(status)) {
    why.add("the compiler was killed by signal ").add(static_cast<long long>(WTERMSIG(status)));
    return BuildOutcome::transient;
  }
  bool empty = true;
  const bool no_space = log_says_no_space(log_fd, empty);
  if (no_space) {
    why.add("no space left on device");
    return BuildOutcome::transient;
  }
  why.add("the compiler's exit status was ").add(static_cast<long long>(WEXITSTATUS(status)));
  if (empty) {
    why.add(", with no message");
    return BuildOutcome::transient;
  }
  return BuildOutcome::refused;
}

// Runs each attempt in turn until one succeeds or fails in a way another
// would not escape (see compiler_refused); the last one's wait status. The
// log holds the last attempt's messages.
int run_compilers(const BuildPlan& plan, int log_fd) {
  int status = -1;
  for (std::size_t attempt = 0; attempt < plan.argv.size(); ++attempt) {
    if (attempt > 0 && (::ftruncate(log_fd, 0) != 0 || ::lseek(log_fd, 0, SEEK_SET) != 0)) {
      break;
    }
    status = run_compiler(plan, attempt, log_fd);
    if (status == -1 || !compiler_refused(status)) {
      break;
    }
  }
  return status;
}

// The build process: runs the compiler, seals and publishes, or records why
// not; releases the lock by exiting.
[[noreturn]] void build(const BuildPlan& plan) {
  ::setsid();
  (void)::setpriority(PRIO_PROCESS, 0, 10);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  ::sigaction(SIGCHLD, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
  int log_fd = ::open(plan.log.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    log_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  }
  const int status = run_compilers(plan, log_fd);
  for (const std::string& object : plan.part_objects) {
    ::unlink(object.c_str());
  }
  FixedText why;
  BuildOutcome outcome = BuildOutcome::none;
  if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    const int error = publish_object(plan);
    if (error == 0) {
      ::unlink(plan.log.c_str());
      ::unlink(plan.state.c_str());
    } else {
      if (error == ENOSPC) {
        why.add("no space left on device for the object");
      } else if (error == EBADMSG) {
        why.add("the compiler left an incomplete object");
      } else {
        why.add("the object could not be written (errno ")
            .add(static_cast<long long>(error))
            .add(")");
      }
      outcome = BuildOutcome::transient;
    }
  } else {
    outcome = classify(status, log_fd, why);
  }
  ::close(log_fd);
  if (outcome != BuildOutcome::none) {
    ::unlink(plan.temporary.c_str());
    record_failure(plan, outcome, why);
  }
  ::unlink(plan.lock.c_str());
  ::_exit(0);
}

// Forks the build off twice, so that it is nobody's zombie and outlives us.
bool detach_build(const BuildPlan& plan) {
  const pid_t child = ::fork();
  if (child == 0) {
    const pid_t grandchild = ::fork();
    if (grandchild == 0) {
      build(plan);
    }
    ::_exit(grandchild < 0 ? 1 : 0);
  }
  if (child < 0) {
    return false;
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) {
      return true;  // a reaper of the host program took it: it forked, it says nothing else
    }
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

BuildPlan make_plan(const ModuleCache& cache, const std::string& c_name, const std::string& so_name,
                    const std::string& key, const BuildState& state) {
  BuildPlan plan;
  plan.dir = cache.dir();
  plan.temporary = cache.temporary_path(so_name);
  plan.object = cache.path(so_name);
  plan.log = cache.path(so_name + ".log");
  plan.lock = cache.path(so_name + ".lock");
  plan.state = cache.path(so_name + ".state");
  plan.state_temporary = cache.temporary_path(so_name + ".state");
  plan.attempts = state.attempts;
  plan.started = state.last_attempt;
  const std::size_t parts = translation_parts(cache.path(c_name));
  for (std::size_t attempt = 0; attempt < aot_compile_attempts(); ++attempt) {
    plan.arguments.push_back(
        aot_build_commands(cache.path(c_name), parts, plan.temporary, key, attempt));
  }
  plan.part_objects = aot_part_objects(plan.temporary, parts);
  for (std::vector<std::vector<std::string>>& commands : plan.arguments) {
    std::vector<std::vector<char*>>& attempt_argv = plan.argv.emplace_back();
    for (std::vector<std::string>& arguments : commands) {
      std::vector<char*>& argv = attempt_argv.emplace_back();
      for (std::string& argument : arguments) {
        argv.push_back(argument.data());
      }
      argv.push_back(nullptr);
    }
  }
  return plan;
}

}  // namespace

std::string BuildState::to_text() const {
  return "attempts=" + std::to_string(attempts) + " last=" + std::to_string(last_attempt) +
         " outcome=" + outcome_name(outcome) + " reported=" + (reported ? "1" : "0") + "\n" + why +
         "\n";
}

std::optional<BuildState> BuildState::parse(const std::string& text) {
  std::istringstream in(text);
  std::string first;
  if (!std::getline(in, first)) {
    return std::nullopt;
  }
  BuildState state;
  std::istringstream fields(first);
  std::string outcome;
  std::string reported;
  for (std::string field; fields >> field;) {
    const auto equals = field.find('=');
    const std::string name = field.substr(0, equals);
    const std::string value = equals == std::string::npos ? "" : field.substr(equals + 1);
    try {
      if (name == "attempts") {
        state.attempts = std::stoi(value);
      } else if (name == "last") {
        state.last_attempt = std::stoll(value);
      } else if (name == "outcome") {
        outcome = value;
      } else if (name == "reported") {
        reported = value;
      }
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  for (BuildOutcome candidate : {BuildOutcome::none, BuildOutcome::running, BuildOutcome::refused,
                                 BuildOutcome::transient}) {
    if (outcome == outcome_name(candidate)) {
      state.outcome = candidate;
    }
  }
  if (outcome != outcome_name(state.outcome)) {
    return std::nullopt;
  }
  state.reported = reported == "1";
  std::getline(in, state.why);
  return state;
}

NextStep next_step(const BuildState& state, std::int64_t now, std::chrono::seconds retry_delay) {
  switch (state.outcome) {
    case BuildOutcome::none:
    case BuildOutcome::running:
      return NextStep::build;
    case BuildOutcome::refused:
      if (state.attempts >= kRefusalsBeforeGivingUp) {
        return NextStep::give_up;
      }
      return now >= state.last_attempt + retry_delay.count() ? NextStep::build : NextStep::wait;
    case BuildOutcome::transient:
      return now >= state.last_attempt + transient_delay(state.attempts, retry_delay).count()
                 ? NextStep::build
                 : NextStep::wait;
  }
  return NextStep::wait;
}

bool start_background_aot(const ModuleCache& cache, const std::string& c_name,
                          const std::string& so_name, const std::string& key,
                          std::chrono::seconds retry_delay, const std::string& module_name) {
  if (!cache.enabled() || ::access(cache.path(so_name).c_str(), F_OK) == 0) {
    return false;
  }
  BuildLock lock(cache.path(so_name + ".lock"));
  if (!lock.held() || ::access(cache.path(so_name).c_str(), F_OK) == 0) {
    return false;  // a build is under way, or has just landed
  }
  BuildState state = read_state(cache, so_name);
  settle_died_build(state);
  const std::int64_t now = unix_now();
  const NextStep next = next_step(state, now, retry_delay);
  report_once(cache, so_name, state, next, retry_delay, module_name);
  if (next != NextStep::build) {
    return false;
  }
  const BuildState previous = state;
  state.attempts = state.outcome == BuildOutcome::none ? 1 : state.attempts + 1;
  state.last_attempt = now;
  state.outcome = BuildOutcome::running;
  state.reported = false;
  state.why.clear();
  if (!cache.write(so_name + ".state", state.to_text())) {
    return false;
  }
  const BuildPlan plan = make_plan(cache, c_name, so_name, key, state);
  if (!detach_build(plan)) {
    (void)cache.write(so_name + ".state", previous.to_text());
    return false;
  }
  lock.hand_over();
  return true;
}

void report_background_aot(const ModuleCache& cache, const std::string& so_name,
                           std::chrono::seconds retry_delay, const std::string& module_name) {
  if (!cache.enabled() || ::access(cache.path(so_name + ".state").c_str(), F_OK) != 0) {
    return;
  }
  const BuildLock lock(cache.path(so_name + ".lock"));
  if (!lock.held()) {
    return;  // a build is under way: it has nothing to say yet
  }
  BuildState state = read_state(cache, so_name);
  settle_died_build(state);
  report_once(cache, so_name, state, next_step(state, unix_now(), retry_delay), retry_delay,
              module_name);
}

}  // namespace wasmshim::wasm
