// `start` and `delete`: the short-lived invocations containerd makes.
#include <fcntl.h>
#include <google/protobuf/any.pb.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "address.h"
#include "bundle_state.h"
#include "commands.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "rootfs.h"
#include "shim_tracing.h"
#include "small_files.h"
#include "wasmshim/container/cgroup.h"
#include "wasmshim/container/command_line.h"
#include "wasmshim/container/oci_spec.h"
#include "wasmshim/shim/environment.h"
#include "wasmshim/ttrpc/unix_socket.h"

namespace wasmshim::shim {
namespace {

std::string current_directory() {
  return std::filesystem::current_path().string();
}

// Runtime options arrive on stdin as a protobuf Any; wasmshim takes none,
// so anything there is a mistake worth naming.
void refuse_runtime_options() {
  if (::isatty(STDIN_FILENO) != 0) {
    return;
  }
  struct stat st {};
  if (::fstat(STDIN_FILENO, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode))) {
    return;
  }
  std::string input;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(STDIN_FILENO, buffer, sizeof(buffer))) > 0) {
    input.append(buffer, static_cast<std::size_t>(n));
  }
  if (input.empty()) {
    return;
  }
  google::protobuf::Any options;
  const std::string type =
      options.ParseFromString(input) ? options.type_url() : std::string("(not a protobuf Any)");
  throw std::invalid_argument("unknown runtime options of type " + type +
                              ": the wasmshim runtime takes no options");
}

// In the forked child: the fds and session the daemon has when `start`
// leaves. containerd reads start's output until every copy of the pipe
// closes: the daemon holds none of it. The environment stays as containerd
// gave it: what the daemon needs of `start` is in its copy of StartTrace.
void become_daemon(const ShimFlags& daemon, int listener, StartTrace& trace) {
  ::setsid();
  const int exit_fd = trace.start_exit_fd();
  // Out of the way first: either may sit where the other must go.
  const int listener_copy = ::fcntl(listener, F_DUPFD_CLOEXEC, 10);
  const int exit_copy = exit_fd >= 0 ? ::fcntl(exit_fd, F_DUPFD_CLOEXEC, 10) : -1;
  trace.leave_to_daemon();
  if (listener != kListenerFd) {
    ::close(listener);
  }
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; ++fd) {
    ::dup2(null, fd);
  }
  ::close(null);
  // The daemon marks both close-on-exec once it has them.
  ::dup2(listener_copy, kListenerFd);
  ::close(listener_copy);
  if (exit_copy >= 0) {
    ::dup2(exit_copy, kStartExitFd);
    ::close(exit_copy);
  }
  // What ps shows: containerd's command with "serve" for its last word,
  // "start", so it fits where the arguments are.
  std::vector<std::string> shown = container::command_line();
  if (!shown.empty() && shown.back() == "start") {
    shown.back() = daemon.action;
    container::set_command_line(shown);
  }
}

// The daemon is this process, forked: one exec per shim instead of two (an
// exec of this binary costs milliseconds of dynamic linking). `start` has a
// single thread here, so the child may do anything.
void fork_daemon(const ShimFlags& flags, const ShimInfo& info, DaemonParts& parts,
                 const std::optional<otel::OtlpConfig>& otlp, int listener, StartTrace& trace) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw std::system_error(errno, std::generic_category(), "forking the shim daemon");
  }
  if (pid > 0) {
    return;
  }
  ShimFlags daemon = flags;
  daemon.action = "serve";
  int status = 1;
  try {
    become_daemon(daemon, listener, trace);
    status = serve_command(daemon, info, std::move(parts), otlp, &trace);
  } catch (...) {
    // stderr is /dev/null here; serve logs its own failures to the shim log.
  }
  ::_exit(status);
}

// As before, a failed write is left for containerd to notice: it reads the
// file and the answer once `start` has exited.
void write_address_file(const std::string& address) {
  (void)write_file("address", address);
}

}  // namespace

int start_command(const ShimFlags& flags, const ShimInfo& info, DaemonParts parts,
                  const std::optional<otel::OtlpConfig>& otlp) {
  if (flags.id.empty() || flags.namespace_name.empty() || flags.address.empty()) {
    throw std::invalid_argument("start needs -id, -namespace and -address");
  }
  refuse_runtime_options();
  const std::string bundle = current_directory();
  const std::string address =
      shim_socket_address(flags.address, flags.namespace_name, grouping_id(bundle, flags.id));
  std::filesystem::create_directories("/run/containerd/s");
  base::UniqueFd listener;
  try {
    listener = ttrpc::listen_unix(address);
  } catch (const std::system_error& e) {
    if (e.code().value() != EADDRINUSE) {
      throw;
    }
    // The group's shim is up and answering: it takes this task too.
    StartTrace trace(flags, info, otlp, /*spawning=*/false);
    write_address_file(address);
    (void)write_all(STDOUT_FILENO, address);
    return 0;
  }
  StartTrace trace(flags, info, otlp, /*spawning=*/true);
  try {
    fork_daemon(flags, info, parts, otlp, listener.get(), trace);
    trace.spawned();
  } catch (const std::exception& e) {
    trace.fail(e.what());
    ::unlink(ttrpc::parse_socket_address(address).path.c_str());
    throw;
  }
  write_address_file(address);
  (void)write_all(STDOUT_FILENO, address);
  return 0;
}

// The shim that made the container's cgroup is gone: whatever is left in it
// is killed and the cgroup removed, so nothing of the container outlives it.
void remove_cgroup(const std::string& bundle, const ShimFlags& flags) {
  try {
    const container::OciSpec spec = container::load_oci_spec(bundle);
    if (!spec.linux) {
      return;
    }
    container::Cgroup::open(container::CgroupLayout::detect(), spec.linux->cgroups_path,
                            flags.namespace_name + "-" + flags.id)
        .remove();
  } catch (const std::exception&) {
    // No spec or no cgroup: nothing of ours to remove.
  }
}

int delete_command(const ShimFlags& flags, const ShimInfo& info,
                   const std::optional<otel::OtlpConfig>& otlp) {
  DeleteTrace trace(flags, info, otlp);
  const std::string bundle = flags.bundle.empty() ? current_directory() : flags.bundle;
  BundleState state = read_bundle_state(bundle);
  ::containerd::task::v2::DeleteResponse response;
  response.set_pid(state.pid);
  std::int64_t exited_ns = state.exited_at_unix_nano;
  if (state.exit_status) {
    response.set_exit_status(*state.exit_status);
  } else {
    // The shim died while the task ran: end the task the way containerd's
    // own shims report it, killed.
    if (state.pid > 1) {
      ::kill(static_cast<pid_t>(state.pid), SIGKILL);
    }
    response.set_exit_status(128 + SIGKILL);
    exited_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  }
  response.mutable_exited_at()->set_seconds(exited_ns / 1000000000);
  response.mutable_exited_at()->set_nanos(static_cast<std::int32_t>(exited_ns % 1000000000));
  trace.set_exit(response.exit_status());
  remove_cgroup(bundle, flags);
  unmount_rootfs(bundle);
  const std::string bytes = response.SerializeAsString();
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  return 0;
}

}  // namespace wasmshim::shim
