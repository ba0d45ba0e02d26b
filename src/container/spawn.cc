#include "wasmshim/container/spawn.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <system_error>

#include "spawn_child.h"
#include "wasmshim/base/c_strings.h"
#include "wasmshim/container/setup.h"
#include "zygote_client.h"

namespace wasmshim::container {
namespace detail {

using base::UniqueFd;

namespace {

const char* step_name(Step step) {
  switch (step) {
    case Step::join_namespace:
      return "joining a namespace";
    case Step::join_cgroup:
      return "joining the cgroup";
    case Step::cgroup_namespace:
      return "creating the cgroup namespace";
    case Step::process_group:
      return "setting the process group";
    case Step::fds:
      return "setting up file descriptors";
    case Step::exec:
      return "exec";
  }
  return "?";
}

}  // namespace

void child_fail(const ChildPlan& plan, Step step, std::size_t index) {
  const int report[3] = {static_cast<int>(step), errno, static_cast<int>(index)};
  (void)!::write(plan.error_fd, report, sizeof(report));
  ::_exit(127);
}

void prepare_child(const ChildPlan& plan) {
  // Handlers are the daemon's: back to defaults before any signal can come.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      ::sigaction(sig, &default_action, nullptr);
    }
  }
  // The cgroup first, from the caller's cgroup namespace: a move written
  // from inside a joined one may be refused (cgroup2's nsdelegate).
  for (int fd : plan.cgroup_fds) {
    if (::write(fd, "0", 1) != 1) {
      child_fail(plan, Step::join_cgroup, 0);
    }
  }
  for (std::size_t i = 0; i < plan.join_fds.size(); ++i) {
    if (::setns(plan.join_fds[i].first, plan.join_fds[i].second) != 0) {
      child_fail(plan, Step::join_namespace, i);
    }
  }
  // After joining, so the namespace's root is the container's own cgroup.
  if (plan.new_cgroup_namespace && ::unshare(CLONE_NEWCGROUP) != 0) {
    child_fail(plan, Step::cgroup_namespace, 0);
  }
  if (plan.new_process_group && ::setpgid(0, 0) != 0) {
    child_fail(plan, Step::process_group, 0);
  }
  for (const auto& [from, to] : plan.fds) {
    const int rc = from == to ? ::fcntl(from, F_SETFD, 0) : ::dup2(from, to);
    if (rc < 0) {
      child_fail(plan, Step::fds, 0);
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &plan.child_mask, nullptr);
}

PreparedSpawn prepare_spawn(const SpawnRequest& request) {
  PreparedSpawn prepared;
  for (const auto& ns : request.namespaces) {
    if (ns.clone_flag == CLONE_NEWUSER) {
      throw ContainerSetupError("linux.namespaces: user namespaces are not supported by wasmshim");
    }
    if (ns.path.empty()) {
      if (ns.clone_flag == CLONE_NEWCGROUP) {
        prepared.new_cgroup_namespace = true;
      } else {
        prepared.clone_flags |= ns.clone_flag;
      }
    } else if (ns.clone_flag == CLONE_NEWPID) {
      prepared.pid_namespace_path = ns.path;
    } else {
      UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd.valid()) {
        throw ContainerSetupError("linux.namespaces: cannot open the " + ns.type + " namespace " +
                                  ns.path + ": " + std::generic_category().message(errno));
      }
      prepared.join_fds.push_back(std::move(fd));
      prepared.join_types.push_back(ns.clone_flag);
      prepared.join_paths.push_back(ns.type + " namespace " + ns.path);
    }
  }
  if (request.cgroup != nullptr) {
    prepared.cgroup_fds = request.cgroup->open_procs();
  }
  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
    throw ContainerSetupError("starting the container: pipe: " +
                              std::generic_category().message(errno));
  }
  prepared.error_read.reset(error_pipe[0]);
  prepared.error_write.reset(error_pipe[1]);
  return prepared;
}

pid_t finish_spawn(PreparedSpawn& prepared, pid_t pid) {
  prepared.error_write.reset();
  int report[3] = {0, 0, 0};
  ssize_t n = 0;
  do {
    n = ::read(prepared.error_read.get(), report, sizeof(report));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(report))) {
    ::waitpid(pid, nullptr, 0);
    const auto step = static_cast<Step>(report[0]);
    std::string what = step_name(step);
    const auto index = static_cast<std::size_t>(report[2]);
    if (step == Step::join_namespace && index < prepared.join_paths.size()) {
      what = "joining the " + prepared.join_paths[index];
    }
    throw ContainerSetupError("starting the container: " + what + ": " +
                              std::generic_category().message(report[1]));
  }
  return pid;
}

}  // namespace detail

namespace {

using base::UniqueFd;
using detail::ChildPlan;
using detail::PreparedSpawn;
using detail::Step;

struct ExecPlan {
  ChildPlan child;
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
};

int exec_child_main(void* argument) {
  const auto& plan = *static_cast<const ExecPlan*>(argument);
  detail::prepare_child(plan.child);
  ::execve(plan.path, plan.argv, plan.envp);
  detail::child_fail(plan.child, Step::exec, 0);
}

// A child stack; the child only makes system calls and returns at exec.
class ChildStack {
 public:
  ChildStack() {
    memory_ = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (memory_ == MAP_FAILED) {
      throw ContainerSetupError("allocating a stack to start the container: " +
                                std::generic_category().message(errno));
    }
  }
  ~ChildStack() { ::munmap(memory_, kSize); }
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  void* top() const { return static_cast<char*>(memory_) + kSize; }

 private:
  static constexpr std::size_t kSize = std::size_t{256} * 1024;
  void* memory_ = nullptr;
};

// setns(CLONE_NEWPID) applies to the calling thread's next children only;
// this puts the thread back into its own pid namespace afterwards.
class PidNamespaceForChildren {
 public:
  explicit PidNamespaceForChildren(const std::string& path) {
    own_.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    UniqueFd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!own_.valid() || !target.valid() || ::setns(target.get(), CLONE_NEWPID) != 0) {
      throw ContainerSetupError("joining the pid namespace " + path + ": " +
                                std::generic_category().message(errno));
    }
  }
  ~PidNamespaceForChildren() { ::setns(own_.get(), CLONE_NEWPID); }
  PidNamespaceForChildren(const PidNamespaceForChildren&) = delete;
  PidNamespaceForChildren& operator=(const PidNamespaceForChildren&) = delete;

 private:
  UniqueFd own_;
};

// Clone into the new namespaces with the daemon's memory shared until exec
// (no copy of its threads, locks or heap), then exec request.path.
pid_t spawn_by_exec(const SpawnRequest& request, PreparedSpawn& prepared) {
  ExecPlan plan;
  std::vector<char*> argv = base::c_string_array(request.argv);
  std::vector<char*> envp = base::c_string_array(request.env);
  plan.path = request.path.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.child.new_process_group = request.new_process_group;
  plan.child.new_cgroup_namespace = prepared.new_cgroup_namespace;
  plan.child.fds = request.fds;
  for (std::size_t i = 0; i < prepared.join_fds.size(); ++i) {
    plan.child.join_fds.emplace_back(prepared.join_fds[i].get(), prepared.join_types[i]);
  }
  for (const auto& fd : prepared.cgroup_fds) {
    plan.child.cgroup_fds.push_back(fd.get());
  }
  plan.child.error_fd = prepared.error_write.get();
  if (request.start_with_signals_blocked) {
    sigfillset(&plan.child.child_mask);
  } else {
    sigemptyset(&plan.child.child_mask);
  }
  std::optional<PidNamespaceForChildren> pid_join;
  if (!prepared.pid_namespace_path.empty()) {
    pid_join.emplace(prepared.pid_namespace_path);
  }
  ChildStack stack;
  // No handler of the daemon's may run on the child's stack before it
  // resets them: block everything across clone.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = ::clone(exec_child_main, stack.top(),
                            CLONE_VM | CLONE_VFORK | SIGCHLD | prepared.clone_flags, &plan);
  const int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pid_join.reset();
  if (pid < 0) {
    throw ContainerSetupError("clone into new namespaces: " +
                              std::generic_category().message(clone_errno));
  }
  return detail::finish_spawn(prepared, pid);
}

}  // namespace

pid_t spawn_container_process(const SpawnRequest& request) {
  PreparedSpawn prepared = detail::prepare_spawn(request);
  if (auto pid = detail::spawn_through_zygote(request, prepared)) {
    return detail::finish_spawn(prepared, *pid);
  }
  return spawn_by_exec(request, prepared);
}

}  // namespace wasmshim::container
