// `serve`: the shim daemon. Serves the Task service on the socket `start`
// created until containerd says Shutdown (or SIGTERM), then drains events
// and exits, removing its socket.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "address.h"
#include "bundle_state.h"
#include "commands.h"
#include "publisher.h"
#include "rootfs.h"
#include "shim_log.h"
#include "shim_tracing.h"
#include "task_service.h"
#include "thread_stacks.h"
#include "wasmshim/base/unique_fd.h"
#include "wasmshim/container/command_line.h"
#include "wasmshim/container/zygote.h"
#include "wasmshim/shim/environment.h"
#include "wasmshim/ttrpc/server.h"
#include "wasmshim/ttrpc/unix_socket.h"

namespace wasmshim::shim {
namespace {

// The bundle's log fifo; containerd holds its read end open while the shim
// runs. Not there (run by hand): stderr.
int open_log_fifo() {
  return ::open("log", O_WRONLY | O_CLOEXEC | O_NONBLOCK);
}

std::string env_or_empty(const char* name) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts.
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// Blocks SIGTERM and SIGINT in this thread and every thread started after
// (they arrive on a signalfd instead), and ignores SIGPIPE.
sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return set;
}

// The zygote is forked first, while this process has one thread; ps shows
// it as the daemon's command with "zygote" for its last word.
void start_zygote_of(container::ZygoteEntry entry) {
  if (entry == nullptr) {
    return;
  }
  std::vector<std::string> shown = container::command_line();
  if (shown.empty()) {
    shown.push_back(self_executable());
  }
  shown.back() = "zygote";
  container::start_zygote(entry, shown);
}

// What ends the daemon's main loop: SIGTERM or SIGINT (on a signalfd),
// Shutdown (an eventfd it writes), or neither; and, between them, a due
// export to start. The loop blocks without a timeout: an idle daemon's
// main thread never runs.
class StopWaiter {
 public:
  explicit StopWaiter(const sigset_t& stop_signals)
      : signals_(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK)),
        shutdown_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

  // From any thread (the Shutdown handler).
  void request_stop() {
    stop_requested_ = true;
    const std::uint64_t one = 1;
    (void)!::write(shutdown_.get(), &one, sizeof one);
  }

  // Blocks until a stop; `on_export_due` runs whenever one of `due_fds` is
  // readable meanwhile. Returns the name of the signal, or "" for Shutdown.
  std::string wait(const std::vector<int>& due_fds, const std::function<void()>& on_export_due) {
    std::vector<pollfd> fds{{signals_.get(), POLLIN, 0}, {shutdown_.get(), POLLIN, 0}};
    for (int fd : due_fds) {
      fds.push_back({fd, POLLIN, 0});
    }
    while (!stop_requested_) {
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        return "";  // cannot wait: stop rather than spin
      }
      signalfd_siginfo info{};
      if ((fds[0].revents & POLLIN) != 0 &&
          ::read(signals_.get(), &info, sizeof info) == sizeof info) {
        const char* name = sigabbrev_np(static_cast<int>(info.ssi_signo));
        return name != nullptr ? name : std::to_string(info.ssi_signo);
      }
      if (std::any_of(fds.begin() + 2, fds.end(),
                      [](const pollfd& fd) { return (fd.revents & POLLIN) != 0; })) {
        on_export_due();
      }
    }
    return "";
  }

 private:
  base::UniqueFd signals_;
  base::UniqueFd shutdown_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace

int serve_command(const ShimFlags& flags, const ShimInfo& info, DaemonParts parts,
                  const std::optional<otel::OtlpConfig>& otlp, StartTrace* started_by) {
  start_zygote_of(parts.container_entry);
  const bool small_stacks = set_default_thread_stack(kDaemonThreadStackBytes);
  const sigset_t stop_signals = block_signals();
  int log_fd = open_log_fifo();
  if (log_fd >= 0) {
    // Non-blocking only for the open (no reader: fail instead of hanging).
    ::fcntl(log_fd, F_SETFL, ::fcntl(log_fd, F_GETFL) & ~O_NONBLOCK);
  }
  ShimLog log(log_fd, flags.debug, flags.id);
  log.info("wasmshim " + info.version + " serving (pid " + std::to_string(::getpid()) + ")");
  if (!small_stacks) {
    log.warn("thread stacks keep their default size: pthread_setattr_default_np failed");
  }
  // Tracing starts before the server, so the first request is traced, and
  // ends after it, so the last one is exported.
  DaemonTrace trace(
      flags, info, otlp, [&log](const std::string& m) { log.warn(m); }, started_by);

  EventPublisher publisher({env_or_empty("TTRPC_ADDRESS"), flags.address, flags.publish_binary,
                            flags.namespace_name, [&log](const std::string& m) { log.warn(m); }});
  RecordingEventSink events(publisher);

  StopWaiter stop(stop_signals);
  TaskServiceOptions options;
  options.create_instance = std::move(parts.factory);
  options.events = &events;
  options.namespace_name = flags.namespace_name;
  options.mount_rootfs = mount_rootfs;
  options.unmount_rootfs = unmount_rootfs;
  options.version = info.version;
  options.parent_traceparent = trace.traceparent();
  options.on_shutdown = [&stop] { stop.request_stop(); };
  auto service = std::make_unique<TaskService>(std::move(options));

  ttrpc::ServerOptions server_options;
  server_options.require_same_user = true;
  server_options.log = [&log](std::string_view m) { log.debug(std::string(m)); };
  ttrpc::Server server(server_options);
  service->register_with(server);
  // Inherited without close-on-exec; containers must not get it.
  ::fcntl(kListenerFd, F_SETFD, FD_CLOEXEC);
  server.serve(base::UniqueFd(kListenerFd));
  trace.take_start_span(std::chrono::seconds(1));

  // Wait for Shutdown or a stop signal, whichever comes first.
  const std::string signal =
      stop.wait(trace.export_due_fds(), [&trace] { trace.start_due_exports(); });
  if (!signal.empty()) {
    log.info("stop signal received (SIG" + signal + ")");
  }
  log.info("shutting down");
  // Shutdown's own answer must reach containerd before the socket closes.
  server.shutdown(std::chrono::seconds(2));
  service.reset();
  // Held events get a last chance; past it they are dropped (and logged), so
  // an unreachable containerd never keeps the shim from exiting.
  publisher.stop(std::chrono::seconds(5));
  const std::string address =
      shim_socket_address(flags.address, flags.namespace_name, grouping_id(".", flags.id));
  ::unlink(ttrpc::parse_socket_address(address).path.c_str());
  return 0;
}

}  // namespace wasmshim::shim
