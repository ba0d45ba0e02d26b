#include "exec_process.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "container_process.h"
#include "wasmshim/base/fd_io.h"
#include "wasmshim/container/setup.h"
#include "wasmshim/container/spawn.h"
#include "wasmshim/otel/instrument.h"
#include "wasmshim/shim/environment.h"
#include "wasmshim/ttrpc/status.h"

namespace wasmshim::runtime {
namespace {

using base::UniqueFd;
using ttrpc::StatusCode;
using ttrpc::StatusError;

// The container's namespaces that are not the shim's own, opened from its
// process. Afterwards the pidfd says whether that pid still was the
// container's process: if it was, the fds are its namespaces, whatever
// happens to the pid later.
std::vector<std::pair<const container::NamespaceType*, UniqueFd>> open_namespaces(
    const ExecTarget& target, const std::string& exec_id) {
  std::vector<std::pair<const container::NamespaceType*, UniqueFd>> out;
  for (const auto& type : container::namespace_types()) {
    if (type.clone_flag == CLONE_NEWUSER) {
      continue;
    }
    const std::string name(type.proc_name);
    UniqueFd theirs(::open(("/proc/" + std::to_string(target.init_pid) + "/ns/" + name).c_str(),
                           O_RDONLY | O_CLOEXEC));
    struct stat their_status {};
    struct stat own_status {};
    if (!theirs.valid() || ::fstat(theirs.get(), &their_status) != 0) {
      break;  // gone: the check below says so
    }
    if (::stat(("/proc/self/ns/" + name).c_str(), &own_status) == 0 &&
        own_status.st_dev == their_status.st_dev && own_status.st_ino == their_status.st_ino) {
      continue;
    }
    out.emplace_back(&type, std::move(theirs));
  }
  if (target.init_pidfd < 0 ||
      ::syscall(SYS_pidfd_send_signal, target.init_pidfd, 0, nullptr, 0) != 0) {
    throw StatusError(StatusCode::kFailedPrecondition,
                      "exec " + exec_id + ": the container's process has exited");
  }
  return out;
}

// The exec's process, for the child to read before it joins the container.
UniqueFd process_file(const std::string& process_json) {
  UniqueFd file(::memfd_create("wasmshim-exec-process", MFD_CLOEXEC));
  if (!file.valid() || !base::write_all(file.get(), process_json) ||
      ::lseek(file.get(), 0, SEEK_SET) != 0) {
    throw StatusError(StatusCode::kInternal,
                      "passing the exec's process: " + std::generic_category().message(errno));
  }
  return file;
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
  container::OciProcess process;
  try {
    process = container::parse_oci_process(config.process_json);
  } catch (const container::OciSpecError& e) {
    throw StatusError(StatusCode::kInvalidArgument, "exec " + config.exec_id + ": " + e.what());
  }
  if (process.terminal) {
    throw StatusError(StatusCode::kInvalidArgument,
                      "exec " + config.exec_id +
                          ": its process asks for a terminal, which wasmshim does not support");
  }
  return process;
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
  UniqueFd process = process_file(config_.process_json);
  auto namespaces = open_namespaces(target_, config_.exec_id);
  ContainerLaunch launch;
  launch.mode = LaunchMode::exec;
  launch.bundle = target_.bundle;
  launch.program = program_.path;
  container::SpawnRequest request;
  request.path = shim::self_executable();
  request.argv = launch.argv(request.path);
  request.env = shim::child_environment({});
  request.cgroup = target_.cgroup != nullptr && !target_.cgroup->empty() ? target_.cgroup : nullptr;
  request.fds = {{stdin_fd.get(), 0},
                 {stdout_fd.get(), 1},
                 {stderr_fd.get(), 2},
                 {process.get(), kExecProcessFd}};
  // The mount namespace is joined by the process itself, last: until then
  // it still execs and reads what lies on the host (this binary, the
  // bundle's config.json).
  for (const auto& [type, fd] : namespaces) {
    if (type->clone_flag == CLONE_NEWNS) {
      request.fds.emplace_back(fd.get(), kExecMountNamespaceFd);
    } else {
      request.namespaces.push_back({type->clone_flag, std::string(type->spec_name),
                                    "/proc/self/fd/" + std::to_string(fd.get())});
    }
  }
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
