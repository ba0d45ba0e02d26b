#include "container_process.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string_view>

#include "wasmshim/container/setup.h"
#include "wasmshim/otel/instrument.h"
#include "wasmshim/runtime/container_instance.h"

#if WASMSHIM_OPENTELEMETRY
#include "wasmshim/otel/session.h"
#endif

namespace wasmshim::runtime {
namespace {

constexpr std::string_view mode_name(LaunchMode mode) {
  switch (mode) {
    case LaunchMode::wasm:
      return "wasm";
    case LaunchMode::native:
      return "native";
    case LaunchMode::exec:
      return "exec";
  }
  return "?";
}

std::optional<LaunchMode> mode_of(std::string_view name) {
  for (LaunchMode mode : {LaunchMode::wasm, LaunchMode::native, LaunchMode::exec}) {
    if (name == mode_name(mode)) {
      return mode;
    }
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> ContainerLaunch::argv(const std::string& self) const {
  return {self,
          kContainerModeFlag,
          std::string(mode_name(mode)),
          bundle,
          stdin_path,
          stdout_path,
          stderr_path,
          program};
}

std::optional<ContainerLaunch> ContainerLaunch::parse(int argc, char** argv) {
  auto mode = argc == 6 ? mode_of(argv[0]) : std::nullopt;
  if (!mode) {
    return std::nullopt;
  }
  ContainerLaunch launch;
  launch.mode = *mode;
  launch.bundle = argv[1];
  launch.stdin_path = argv[2];
  launch.stdout_path = argv[3];
  launch.stderr_path = argv[4];
  launch.program = argv[5];
  return launch;
}

// containerd holds the other end of each fifo, or nobody does (a detached
// `ctr run -d`), and whoever reads may leave at any time.
int open_stdio(const std::string& path, int flags) {
  const char* name = path.empty() ? "/dev/null" : path.c_str();
  if ((flags & O_ACCMODE) == O_WRONLY) {
    flags = (flags & ~O_ACCMODE) | O_RDWR;
  }
  const int fd = ::open(name, flags | O_CLOEXEC | O_NONBLOCK);
  if (fd >= 0) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  return fd;
}

namespace {

bool redirect_stdio(const ContainerLaunch& launch) {
  const std::pair<const std::string*, int> streams[] = {{&launch.stdin_path, O_RDONLY},
                                                        {&launch.stdout_path, O_WRONLY},
                                                        {&launch.stderr_path, O_WRONLY}};
  for (int target = 0; target < 3; ++target) {
    const int fd = open_stdio(*streams[target].first, streams[target].second);
    if (fd < 0) {
      return false;
    }
    const bool moved = ::dup2(fd, target) == target;
    ::close(fd);
    if (!moved) {
      return false;
    }
  }
  return true;
}

}  // namespace

#if WASMSHIM_OPENTELEMETRY
struct ContainerTracing::Session {
  explicit Session(otel::SessionOptions options) : session(std::move(options)) {}
  otel::TracingSession session;
};
#else
struct ContainerTracing::Session {};
#endif

ContainerTracing::ContainerTracing() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): one thread so far.
  traced_ = std::getenv("WASMSHIM_TRACE_FD") != nullptr;
#if WASMSHIM_OPENTELEMETRY
  if (traced_) {
    ::fcntl(kTraceFd, F_SETFD, FD_CLOEXEC);
    session_ = std::make_unique<Session>(otel::SessionOptions{
        {"", WASMSHIM_VERSION}, std::nullopt, [](std::string_view) {}, kTraceFd});
  }
#endif
}

ContainerTracing::~ContainerTracing() = default;

trace::Parent ContainerTracing::parent() const {
#if WASMSHIM_OPENTELEMETRY
  return trace::Parent{otel::context_from_traceparent_environment()};
#else
  return {};
#endif
}

bool take_stdio(const ContainerLaunch& launch, const ContainerTracing& tracing) {
  ::close_range(tracing.traced() ? kTraceFd + 1 : kTraceFd, ~0U, 0);
  if (!redirect_stdio(launch)) {
    std::perror("wasmshim container: opening stdio");
    return false;
  }
  return true;
}

bool enter_container(const container::OciSpec& spec,
                     const std::function<void(bool pivoted)>& before_privileges_drop) {
  if (!spec.linux) {
    container::apply_oom_score_adj(spec.process);
    if (before_privileges_drop) {
      before_privileges_drop(false);
    }
    return false;
  }
  trace::ScopedSpan span("wasmshim.container", "container.isolate");
  const container::OciNamespace* mount = container::find_namespace(spec, "mount");
  const bool pivot = mount != nullptr && mount->path.empty();
  span.set("container.pivot_root", pivot)
      .set("container.mounts", static_cast<std::int64_t>(spec.mounts.size()))
      .set("container.seccomp", spec.linux->seccomp.has_value());
  try {
    if (pivot) {
      container::enter_rootfs(spec);
    }
    container::set_hostname(spec);
    container::apply_rlimits(spec);
    container::apply_oom_score_adj(spec.process);
    if (before_privileges_drop) {
      before_privileges_drop(pivot);
    }
    container::drop_privileges(spec);
  } catch (const std::exception& e) {
    span.fail(e.what());
    throw;
  }
  return pivot;
}

}  // namespace wasmshim::runtime
