// `start` and `delete`: the short-lived invocations containerd makes.
#include <fcntl.h>
#include <google/protobuf/any.pb.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "address.h"
#include "bundle_state.h"
#include "commands.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "rootfs.h"
#include "shim_tracing.h"
#include "wasmshim/container/cgroup.h"
#include "wasmshim/container/oci_spec.h"
#include "wasmshim/shim/environment.h"
#include "wasmshim/ttrpc/unix_socket.h"

extern char** environ;

namespace wasmshim::shim {
namespace {

std::string current_directory() {
  return std::filesystem::current_path().string();
}

std::string self_executable() {
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) {
    throw std::system_error(errno, std::generic_category(), "readlink /proc/self/exe");
  }
  return std::string(path, static_cast<std::size_t>(n));
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

void spawn_daemon(const ShimFlags& flags, int listener, const StartTrace& trace) {
  ShimFlags daemon = flags;
  daemon.action = "serve";
  std::vector<std::string> args = to_args(daemon);
  args.insert(args.begin(), self_executable());
  std::vector<char*> argv;
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // containerd reads start's output until every copy of the pipe closes:
  // the daemon must hold none of it.
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, listener, kListenerFd);
  if (trace.daemon_span_fd() >= 0) {
    posix_spawn_file_actions_adddup2(&actions, trace.daemon_span_fd(), kStartSpansFd);
  }
  std::vector<std::string> env_entries = child_environment(trace.daemon_environment());
  std::vector<char*> envp;
  for (auto& entry : env_entries) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    throw std::system_error(rc, std::generic_category(), "spawning the shim daemon");
  }
}

void write_address_file(const std::string& address) {
  std::ofstream out("address");
  out << address;
}

}  // namespace

int start_command(const ShimFlags& flags, const ShimInfo& info,
                  const std::optional<otel::OtlpConfig>& otlp) {
  if (flags.id.empty() || flags.namespace_name.empty() || flags.address.empty()) {
    throw std::invalid_argument("start needs -id, -namespace and -address");
  }
  refuse_runtime_options();
  const std::string bundle = current_directory();
  const std::string address =
      shim_socket_address(flags.address, flags.namespace_name, grouping_id(bundle, flags.id));
  std::filesystem::create_directories("/run/containerd/s");
  ttrpc::UniqueFd listener;
  try {
    listener = ttrpc::listen_unix(address);
  } catch (const std::system_error& e) {
    if (e.code().value() != EADDRINUSE) {
      throw;
    }
    // The group's shim is up and answering: it takes this task too.
    StartTrace trace(flags, info, otlp, /*spawning=*/false);
    write_address_file(address);
    std::fputs(address.c_str(), stdout);
    return 0;
  }
  StartTrace trace(flags, info, otlp, /*spawning=*/true);
  try {
    spawn_daemon(flags, listener.get(), trace);
    trace.spawned();
  } catch (const std::exception& e) {
    trace.fail(e.what());
    ::unlink(ttrpc::parse_socket_address(address).path.c_str());
    throw;
  }
  write_address_file(address);
  std::fputs(address.c_str(), stdout);
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
