#include "exec_process.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <system_error>
#include <utility>

#include "container_process.h"
#include "wasmshim/container/setup.h"
#include "wasmshim/container/spawn.h"
#include "wasmshim/otel/instrument.h"
#include "wasmshim/shim/environment.h"
#include "wasmshim/ttrpc/status.h"

namespace wasmshim::runtime {
namespace {

using ttrpc::StatusCode;
using ttrpc::StatusError;
using ttrpc::UniqueFd;

struct NamespaceKind {
  int clone_flag;
  const char* spec_type;  // as config.json names it
  const char* proc_name;  // as /proc/PID/ns names it
};

// The order the child joins them in; the mount namespace before the
// cgroup one, which is resolved against it.
constexpr std::array<NamespaceKind, 6> kJoined{{
    {CLONE_NEWIPC, "ipc", "ipc"},
    {CLONE_NEWUTS, "uts", "uts"},
    {CLONE_NEWNET, "network", "net"},
    {CLONE_NEWPID, "pid", "pid"},
    {CLONE_NEWNS, "mount", "mnt"},
    {CLONE_NEWCGROUP, "cgroup", "cgroup"},
}};

bool same_namespace(const std::string& a, const std::string& b) {
  struct stat first {};
  struct stat second {};
  return ::stat(a.c_str(), &first) == 0 && ::stat(b.c_str(), &second) == 0 &&
         first.st_dev == second.st_dev && first.st_ino == second.st_ino;
}

// The container's namespaces that are not the shim's own, by path.
std::vector<container::OciNamespace> namespaces_of(pid_t pid) {
  std::vector<container::OciNamespace> out;
  for (const auto& kind : kJoined) {
    const std::string theirs = "/proc/" + std::to_string(pid) + "/ns/" + kind.proc_name;
    if (!same_namespace(theirs, std::string("/proc/self/ns/") + kind.proc_name)) {
      out.push_back({kind.clone_flag, kind.spec_type, theirs});
    }
  }
  return out;
}

UniqueFd open_or_throw(const std::string& path, int flags, const std::string& what) {
  UniqueFd fd(open_stdio(path, flags));
  if (!fd.valid()) {
    throw StatusError(StatusCode::kInternal, "opening " + what + " " + path + ": " +
                                                 std::generic_category().message(errno));
  }
  return fd;
}

container::OciProcess parse_process(const shim::ExecConfig& config) {
  try {
    return container::parse_oci_process(config.process_json);
  } catch (const container::OciSpecError& e) {
    throw StatusError(StatusCode::kInvalidArgument, "exec " + config.exec_id + ": " + e.what());
  }
}

ContainerProgram find_exec_program(pid_t init_pid, const container::OciProcess& process,
                                   const std::string& exec_id) {
  ContainerProgram program;
  try {
    program = find_program("/proc/" + std::to_string(init_pid) + "/root", process.args[0],
                           process.cwd, process.env);
  } catch (const ProgramError& e) {
    throw StatusError(e.missing() ? StatusCode::kNotFound : StatusCode::kInvalidArgument,
                      "exec " + exec_id + ": " + e.what());
  }
  if (program.kind != ProgramKind::native) {
    throw StatusError(StatusCode::kInvalidArgument,
                      "exec " + exec_id + ": " + program.path +
                          " is a Wasm module: only native programs can be exec'd into a container");
  }
  return program;
}

}  // namespace

ExecProcess::ExecProcess(ExecTarget target, shim::ExecConfig config)
    : target_(std::move(target)),
      config_(std::move(config)),
      process_(parse_process(config_)),
      program_(find_exec_program(target_.init_pid, process_, config_.exec_id)) {}

ExecProcess::~ExecProcess() {
  remove();
}

std::uint32_t ExecProcess::start() {
  trace::ScopedSpan span("wasmshim.container", "container.exec");
  span.set("exec.id", config_.exec_id).set("container.program", program_.path);
  UniqueFd stdin_fd = open_or_throw(config_.stdin_path, O_RDONLY, "the exec's stdin");
  UniqueFd stdout_fd = open_or_throw(config_.stdout_path, O_WRONLY, "the exec's stdout");
  UniqueFd stderr_fd = open_or_throw(config_.stderr_path, O_WRONLY, "the exec's stderr");
  UniqueFd spec_fd(::open((target_.bundle + "/config.json").c_str(), O_RDONLY | O_CLOEXEC));
  if (!spec_fd.valid()) {
    throw StatusError(StatusCode::kInternal,
                      "exec " + config_.exec_id + ": reading " + target_.bundle +
                          "/config.json: " + std::generic_category().message(errno));
  }
  ContainerLaunch launch{LaunchMode::exec, target_.spec.root_path, {}, {}, {},
                         program_.path,    config_.process_json};
  container::SpawnRequest request;
  request.path = shim::self_executable();
  request.argv = launch.argv(request.path);
  request.env = shim::child_environment({});
  request.namespaces = namespaces_of(target_.init_pid);
  request.cgroup = target_.cgroup != nullptr && !target_.cgroup->empty() ? target_.cgroup : nullptr;
  request.fds = {
      {stdin_fd.get(), 0}, {stdout_fd.get(), 1}, {stderr_fd.get(), 2}, {spec_fd.get(), kSpecFd}};
  pid_t pid = -1;
  try {
    pid = container::spawn_container_process(request);
  } catch (const container::ContainerSetupError& e) {
    span.fail(e.what());
    throw StatusError(StatusCode::kInternal, "exec " + config_.exec_id + ": " + e.what());
  }
  span.set("process.pid", static_cast<std::int64_t>(pid));
  child_.adopt(pid);
  return static_cast<std::uint32_t>(pid);
}

void ExecProcess::kill(std::uint32_t signal) {
  child_.signal(signal);
}

shim::ExitStatus ExecProcess::wait() {
  return child_.reap();
}

void ExecProcess::remove() {
  child_.kill_and_reap();
}

}  // namespace wasmshim::runtime
