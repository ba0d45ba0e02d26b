// Container start-up under load, direct to the shims: this program plays
// containerd's part toward a shim (runs `shim start` in the bundle, then
// Create, Start, Wait, Delete and Shutdown over ttrpc, and serves the events
// Forward the shim publishes to), N tasks with M at once, for each runtime
// in the same run, and prints tasks per second, phase percentiles, peak RSS
// and the ratios between runtimes.
//
//   stress [--tasks N] [--concurrency M]
//          [--runtimes wasmshim,wasmshim-traced,wasmshim-bare,runc]
//          [--workload "echo hello"] [--via direct|containerd] [--json FILE]
//          [--rounds R]   each runtime R times, interleaved; ratios are medians
//
// --via containerd: the same tasks through a real containerd (Debian's, a
// private instance started here), driven over its gRPC API; only whole-task
// times.
//
// CPU per task is counted twice: the run's own (everything it started, from
// its cgroup, until the last of its processes has exited) and the machine's
// (/proc/stat over the timed span, other tenants included).
//
// Runtimes: wasmshim (the spec containerd would write: namespaces, cgroup,
// mounts, capabilities; tracing not configured), wasmshim-traced (the same,
// with every shim exporting its traces over OTLP/HTTP to a receiver in this
// process), wasmshim-bare (the spec without its "linux" object: no
// namespaces, no cgroup), runc (containerd-shim-runc-v2 and runc from
// Debian, the demo built natively and statically, the same spec).
#include <fcntl.h>
#include <google/protobuf/empty.pb.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "bundles.h"
#include "containerd_client.h"
#include "e2e/containerd_fixture.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "run_cgroup.h"
#include "wasmshim/otel/receiver.h"
#include "wasmshim/ttrpc/client.h"
#include "wasmshim/ttrpc/protobuf.h"
#include "wasmshim/ttrpc/server.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace task = containerd::task::v2;
using Clock = std::chrono::steady_clock;
using wasmshim::ttrpc::Client;
using wasmshim::ttrpc::Status;
using wasmshim::ttrpc::typed_call;

constexpr const char* kTaskService = "containerd.task.v2.Task";
constexpr const char* kNamespace = "stress";

struct Settings {
  int tasks = 200;
  int concurrency = 8;
  std::vector<std::string> runtimes{"wasmshim", "runc"};
  std::vector<std::string> workload{"echo", "hello"};
  std::string json_path;
  bool via_containerd = false;
  // Each runtime runs this many times, interleaved (the order rotates every
  // round), and the ratios are medians over rounds: on a shared machine one
  // run of each is a coin toss (single runs here gave traced/untraced ratios
  // from 0.70 to 1.28).
  int rounds = 1;
};

// Milliseconds of each phase of one task.
struct TaskTimes {
  double shim_start = 0, create = 0, start = 0, wait = 0, remove = 0, shutdown = 0;
  double create_to_exit = 0, total = 0;
  long shim_peak_kib = 0;
  long container_peak_kib = 0;
  bool ok = false;
  std::string error;
};

double ms_since(Clock::time_point from) {
  return std::chrono::duration<double, std::milli>(Clock::now() - from).count();
}

// Runs `argv` in `cwd` with `env`; returns its stdout (trimmed) or throws.
std::string run_in(const std::vector<std::string>& argv, const std::string& cwd,
                   const std::vector<std::string>& env) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string text;
  char buffer[512];
  ssize_t n = 0;
  while (rc == 0 && (n = ::read(out[0], buffer, sizeof(buffer))) > 0) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  if (rc != 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(argv[0] + " start failed: " + text);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

long peak_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::atol(line.c_str() + 6);
    }
  }
  return 0;
}

// A shim's helper processes (wasmshim's container zygote: a child of the
// daemon with "zygote" in its command line) share the daemon's pages; what
// they cost beyond it is their private memory (smaps_rollup).
long zygote_private_kib(const std::string& process) {
  std::ifstream cmdline(process + "/cmdline");
  std::string command((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  if (command.find("zygote") == std::string::npos) {
    return 0;
  }
  long total = 0;
  std::ifstream rollup(process + "/smaps_rollup");
  std::string line;
  while (std::getline(rollup, line)) {
    if (line.rfind("Private_Clean:", 0) == 0 || line.rfind("Private_Dirty:", 0) == 0) {
      total += std::atol(line.c_str() + line.find(':') + 1);
    }
  }
  return total;
}

long helpers_private_kib(pid_t daemon) {
  const std::string self = std::to_string(daemon);
  std::ifstream children("/proc/" + self + "/task/" + self + "/children");
  long total = 0;
  pid_t child = 0;
  while (children >> child) {
    try {
      total += zygote_private_kib("/proc/" + std::to_string(child));
    } catch (const std::exception&) {
      // It ended while being read (libstdc++ throws on ESRCH).
    }
  }
  return total;
}

long cgroup_peak_kib(const std::string& cgroups_path) {
  std::ifstream in("/sys/fs/cgroup/memory" + cgroups_path + "/memory.max_usage_in_bytes");
  long long bytes = 0;
  return in >> bytes ? static_cast<long>(bytes / 1024) : 0;
}

void check(const Status& status, const char* what) {
  if (!status.is_ok()) {
    throw std::runtime_error(std::string(what) + ": " + status.message());
  }
}

struct Runtime {
  std::string name;
  std::string shim;  // binary
  BundleKind kind;
  bool traced = false;
  std::string containerd_name;  // io.containerd.<name>
};

// The machine's busy CPU time (user, nice, system, irq, softirq; not idle,
// iowait or steal) from /proc/stat, in ms. Per task it is what a task costs
// everything on the machine (this client and the kernel's workers too),
// whether or not the run kept both cores busy.
double machine_busy_ms() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  // user nice system idle iowait irq softirq, in clock ticks
  std::array<long long, 7> ticks{};
  for (auto& value : ticks) {
    in >> value;
  }
  const long long busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6];
  const double ms_per_tick = 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return static_cast<double>(busy) * ms_per_tick;
}

// Bundles live on a tmpfs, as under /run/containerd on a node: what the
// file system costs per task is then the kernel's memory, not this machine's
// ext4 (whose inode allocation after many deletes showed in the profiles).
class RunTmpfs {
 public:
  explicit RunTmpfs(std::string path) : path_(std::move(path)) {
    fs::create_directories(path_);
    if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0711") != 0) {
      throw std::system_error(errno, std::generic_category(), "mount tmpfs on " + path_);
    }
  }
  RunTmpfs(const RunTmpfs&) = delete;
  RunTmpfs& operator=(const RunTmpfs&) = delete;
  ~RunTmpfs() { ::umount2(path_.c_str(), MNT_DETACH); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class Stress {
 public:
  Stress(Settings settings, std::string work, const RunCgroup& cgroup)
      : settings_(std::move(settings)), work_(std::move(work)), cgroup_(cgroup) {
    events_address_ = work_ + "/events.sock";
    events_.register_method(
        "containerd.services.events.ttrpc.v1.Events", "Forward",
        wasmshim::ttrpc::typed_handler<containerd::services::events::ttrpc::v1::ForwardRequest,
                                       google::protobuf::Empty>([this](auto&, const auto&, auto&) {
          events_seen_.fetch_add(1);
          return Status::ok();
        }));
    events_.listen(events_address_);
  }

  std::size_t spans_received() const { return receiver_.span_count(); }

  // The shims export as they exit, after Shutdown answered, and `shim
  // delete` once containerd runs it, after the shim has gone: the count once
  // it has not moved for a second (at most 20 s).
  std::size_t spans_settled() const {
    std::size_t last = spans_received();
    int still = 0;
    for (int waited = 0; waited < 40 && still < 2; ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      const std::size_t now = spans_received();
      still = now == last ? still + 1 : 0;
      last = now;
    }
    return last;
  }

  // The tasks, timed from the first to the last (containerd, when it is
  // used, already running).
  struct Run {
    std::vector<TaskTimes> times;
    double seconds = 0;
    double busy_ms = 0;     // the machine's, over the same span
    double own_cpu_ms = 0;  // the run's cgroup's, until its processes are gone
  };

  Run run(const Runtime& runtime) {
    Run result;
    std::vector<TaskTimes>& times = result.times;
    times.resize(static_cast<std::size_t>(settings_.tasks));
    std::unique_ptr<wasmshim::testing::Containerd> containerd;
    std::unique_ptr<ContainerdClient> client;
    if (settings_.via_containerd) {
      std::vector<std::string> env{"WASMSHIM_CACHE_DIR=" + work_ + "/cache"};
      if (runtime.traced) {
        env.push_back("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" +
                      std::to_string(receiver_.http_port()));
      }
      std::fflush(stdout);  // the fixture's child must not print our buffer again
      // Its state (the bundles) on the tmpfs, as /run/containerd on a node.
      // A fresh one for every containerd: none finds tasks of an earlier run.
      containerd = std::make_unique<wasmshim::testing::Containerd>(
          env, work_ + "/run/containerd-state-" + std::to_string(++containerd_runs_));
      if (!containerd->ready()) {
        throw std::runtime_error("containerd did not start: " + containerd->error());
      }
      client = std::make_unique<ContainerdClient>(containerd->socket(), kNamespace);
    }
    const std::vector<int> idle_processes = cgroup_.processes();
    const double own_before = cgroup_.cpu_ms();
    const auto begin = Clock::now();
    const double busy_before = machine_busy_ms();
    std::atomic<int> next{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < settings_.concurrency; ++w) {
      workers.emplace_back([&] {
        for (int i = next.fetch_add(1); i < settings_.tasks; i = next.fetch_add(1)) {
          times[static_cast<std::size_t>(i)] =
              client ? one_containerd_task(*client, runtime, i) : one_task(runtime, i);
        }
      });
    }
    for (auto& worker : workers) {
      worker.join();
    }
    result.seconds = ms_since(begin) / 1000.0;
    result.busy_ms = machine_busy_ms() - busy_before;
    wait_for_processes(idle_processes);
    result.own_cpu_ms = cgroup_.cpu_ms() - own_before;
    return result;
  }

 private:
  // Through containerd, as its CRI plugin would drive it: the container and
  // task made over containerd's gRPC API (ContainerdClient) from the
  // bundle's spec; the task's whole life is the only phase seen from here.
  TaskTimes one_containerd_task(ContainerdClient& containerd, const Runtime& runtime, int index) {
    TaskTimes t;
    const std::string id = runtime.name + "-" + std::to_string(index);
    const std::string bundle = work_ + "/run/bundles/" + id;
    const auto begin = Clock::now();
    try {
      const std::string spec = make_bundle(runtime.kind, work_ + "/run/images", bundle,
                                           "/wasmshim-stress/" + id, settings_.workload);
      const std::uint32_t status = containerd.run(id, runtime.containerd_name, spec);
      if (status != 0) {
        throw std::runtime_error("task exited with " + std::to_string(status));
      }
      t.ok = true;
    } catch (const std::exception& e) {
      t.error = e.what();
    }
    t.total = ms_since(begin);
    t.create_to_exit = t.total;
    fs::remove_all(bundle);
    return t;
  }

  TaskTimes one_task(const Runtime& runtime, int index) {
    TaskTimes t;
    const std::string id = runtime.name + "-" + std::to_string(index);
    const std::string bundle = work_ + "/run/bundles/" + id;
    const std::string cgroups_path = "/wasmshim-stress/" + id;
    const auto begin = Clock::now();
    std::unique_ptr<Client> client;
    try {
      make_bundle(runtime.kind, work_ + "/run/images", bundle, cgroups_path, settings_.workload);
      // The shim's log fifo, which containerd makes and reads; holding both
      // ends keeps the shim's open from waiting (what it logs is dropped).
      const std::string log = bundle + "/log";
      if (::mkfifo(log.c_str(), 0600) != 0) {
        throw std::runtime_error("mkfifo " + log);
      }
      wasmshim::base::UniqueFd log_fd(::open(log.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
      auto phase = Clock::now();
      std::vector<std::string> env{
          "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TTRPC_ADDRESS=" + events_address_,
          "NAMESPACE=" + std::string(kNamespace), "WASMSHIM_CACHE_DIR=" + work_ + "/cache"};
      if (runtime.traced) {
        env.push_back("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" +
                      std::to_string(receiver_.http_port()));
      }
      std::string address =
          run_in({runtime.shim, "-namespace", kNamespace, "-id", id, "-address",
                  work_ + "/containerd.sock", "-publish-binary", "/bin/true", "start"},
                 bundle, env);
      t.shim_start = ms_since(phase);
      if (address.starts_with("unix://")) {
        address = address.substr(7);
      }
      client = Client::connect(address, std::chrono::seconds(5));
      task::ConnectRequest connect_request;
      connect_request.set_id(id);
      task::ConnectResponse connected;
      check(typed_call(*client, kTaskService, "Connect", connect_request, connected), "Connect");
      const auto create_begin = Clock::now();
      task::CreateTaskRequest create;
      create.set_id(id);
      create.set_bundle(bundle);
      task::CreateTaskResponse created;
      check(typed_call(*client, kTaskService, "Create", create, created), "Create");
      t.create = ms_since(create_begin);
      phase = Clock::now();
      task::StartRequest start;
      start.set_id(id);
      task::StartResponse started;
      check(typed_call(*client, kTaskService, "Start", start, started), "Start");
      t.start = ms_since(phase);
      phase = Clock::now();
      task::WaitRequest wait;
      wait.set_id(id);
      task::WaitResponse waited;
      check(typed_call(*client, kTaskService, "Wait", wait, waited), "Wait");
      t.wait = ms_since(phase);
      t.create_to_exit = ms_since(create_begin);
      if (waited.exit_status() != 0) {
        throw std::runtime_error("task exited with " + std::to_string(waited.exit_status()));
      }
      t.container_peak_kib = cgroup_peak_kib(cgroups_path);
      const auto daemon = static_cast<pid_t>(connected.shim_pid());
      t.shim_peak_kib = peak_kib(daemon) + helpers_private_kib(daemon);
      phase = Clock::now();
      task::DeleteRequest remove;
      remove.set_id(id);
      task::DeleteResponse removed;
      check(typed_call(*client, kTaskService, "Delete", remove, removed), "Delete");
      t.remove = ms_since(phase);
      phase = Clock::now();
      task::ShutdownRequest shutdown;
      shutdown.set_id(id);
      google::protobuf::Empty empty;
      // The shim exits while answering: a closed connection is success.
      (void)typed_call(*client, kTaskService, "Shutdown", shutdown, empty);
      t.shutdown = ms_since(phase);
      t.ok = true;
    } catch (const std::exception& e) {
      t.error = e.what();
      if (client) {
        remove_after_failure(*client, id);
      }
    }
    t.total = ms_since(begin);
    fs::remove_all(bundle);
    return t;
  }

  // A failed task still gets Delete and Shutdown, as containerd would send:
  // otherwise its shim and runc's state stay, and a later round's task of
  // the same id fails with "already exists".
  static void remove_after_failure(Client& client, const std::string& id) {
    task::DeleteRequest remove;
    remove.set_id(id);
    task::DeleteResponse removed;
    (void)typed_call(client, kTaskService, "Delete", remove, removed);
    task::ShutdownRequest shutdown;
    shutdown.set_id(id);
    google::protobuf::Empty empty;
    (void)typed_call(client, kTaskService, "Shutdown", shutdown, empty);
  }

  // Until only the processes there before the run are left (shims export
  // their spans and `delete` cleans up after the last reply), at most 10 s.
  void wait_for_processes(std::vector<int> before) const {
    std::sort(before.begin(), before.end());
    for (int waited = 0; waited < 1000; ++waited) {
      const auto now = cgroup_.processes();
      if (std::all_of(now.begin(), now.end(), [&](int pid) {
            return std::binary_search(before.begin(), before.end(), pid);
          })) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  Settings settings_;
  std::string work_;
  const RunCgroup& cgroup_;
  int containerd_runs_ = 0;
  std::string events_address_;
  wasmshim::ttrpc::Server events_;
  // Where wasmshim-traced's shims export: OTLP/HTTP on loopback, decoded
  // and counted, printed nowhere.
  wasmshim::otel::OtlpReceiver receiver_{
      {"127.0.0.1:0", "", "", nullptr, std::chrono::milliseconds(1000)}};
  std::atomic<long> events_seen_{0};
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const auto index =
      static_cast<std::size_t>(std::lround(p * static_cast<double>(values.size() - 1)));
  return values[std::min(index, values.size() - 1)];
}

struct Summary {
  std::string runtime;
  double tasks_per_second = 0;
  int failed = 0;
  std::string first_error;
  struct Phase {
    std::string name;
    double p50 = 0;
    double p99 = 0;
  };
  std::vector<Phase> phases;
  long shim_peak_kib = 0;
  long container_peak_kib = 0;
  double cpu_ms_per_task = 0;      // the machine's
  double own_cpu_ms_per_task = 0;  // the run's cgroup's
};

Summary summarize(const std::string& name, const Stress::Run& run) {
  const std::vector<TaskTimes>& times = run.times;
  Summary s;
  s.runtime = name;
  std::vector<TaskTimes> ok;
  for (const auto& t : times) {
    if (t.ok) {
      ok.push_back(t);
    } else if (s.first_error.empty()) {
      s.first_error = t.error;
    }
  }
  s.failed = static_cast<int>(times.size() - ok.size());
  s.tasks_per_second = static_cast<double>(ok.size()) / run.seconds;
  const auto tasks = static_cast<double>(std::max<std::size_t>(times.size(), 1));
  s.cpu_ms_per_task = run.busy_ms / tasks;
  s.own_cpu_ms_per_task = run.own_cpu_ms / tasks;
  auto phase = [&](const char* label, double TaskTimes::*field) {
    std::vector<double> values;
    for (const auto& t : ok) {
      values.push_back(t.*field);
    }
    s.phases.push_back({label, percentile(values, 0.5), percentile(values, 0.99)});
  };
  phase("shim_start", &TaskTimes::shim_start);
  phase("create", &TaskTimes::create);
  phase("start", &TaskTimes::start);
  phase("wait", &TaskTimes::wait);
  phase("delete", &TaskTimes::remove);
  phase("shutdown", &TaskTimes::shutdown);
  phase("create_to_exit", &TaskTimes::create_to_exit);
  phase("task", &TaskTimes::total);
  for (const auto& t : ok) {
    s.shim_peak_kib = std::max(s.shim_peak_kib, t.shim_peak_kib);
    s.container_peak_kib = std::max(s.container_peak_kib, t.container_peak_kib);
  }
  return s;
}

void print(const Summary& s) {
  std::printf("%-14s %8.1f tasks/s  CPU/task %5.2f ms (run), %5.2f ms (machine)  failed %d",
              s.runtime.c_str(), s.tasks_per_second, s.own_cpu_ms_per_task, s.cpu_ms_per_task,
              s.failed);
  if (s.shim_peak_kib > 0) {
    std::printf("  shim peak RSS %ld KiB  container peak %ld KiB", s.shim_peak_kib,
                s.container_peak_kib);
  }
  std::printf("\n");
  for (const auto& phase : s.phases) {
    if (phase.p99 == 0) {
      continue;  // not seen in this mode
    }
    std::printf("    %-15s p50 %8.2f ms   p99 %8.2f ms\n", phase.name.c_str(), phase.p50,
                phase.p99);
  }
  if (!s.first_error.empty()) {
    std::printf("    first error: %s\n", s.first_error.c_str());
  }
}

Settings parse(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        throw std::invalid_argument(arg + " needs a value");
      }
      return argv[++i];
    };
    if (arg == "--tasks") {
      settings.tasks = std::stoi(value());
    } else if (arg == "--concurrency") {
      settings.concurrency = std::stoi(value());
    } else if (arg == "--runtimes") {
      settings.runtimes.clear();
      std::istringstream names(value());
      for (std::string name; std::getline(names, name, ',');) {
        settings.runtimes.push_back(name);
      }
    } else if (arg == "--workload") {
      settings.workload.clear();
      std::istringstream words(value());
      for (std::string word; words >> word;) {
        settings.workload.push_back(word);
      }
    } else if (arg == "--via") {
      const std::string via = value();
      if (via != "direct" && via != "containerd") {
        throw std::invalid_argument("--via takes direct or containerd");
      }
      settings.via_containerd = via == "containerd";
    } else if (arg == "--json") {
      settings.json_path = value();
    } else if (arg == "--rounds") {
      settings.rounds = std::max(1, std::stoi(value()));
    } else {
      throw std::invalid_argument("unknown option " + arg);
    }
  }
  return settings;
}

std::optional<Runtime> runtime_named(const std::string& name) {
  if (name == "wasmshim") {
    return Runtime{name, WASMSHIM_SHIM, BundleKind::wasm, false, "io.containerd.wasmshim.v1"};
  }
  if (name == "wasmshim-traced") {
    return Runtime{name, WASMSHIM_SHIM, BundleKind::wasm, true, "io.containerd.wasmshim.v1"};
  }
  if (name == "wasmshim-bare") {
    return Runtime{name, WASMSHIM_SHIM, BundleKind::wasm_bare, false, "io.containerd.wasmshim.v1"};
  }
  if (name == "runc") {
    return Runtime{name, "/usr/bin/containerd-shim-runc-v2", BundleKind::native, false,
                   "io.containerd.runc.v2"};
  }
  return std::nullopt;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::vector<double> tasks_per_second(const std::vector<Summary>& runs) {
  std::vector<double> out;
  for (const auto& s : runs) {
    out.push_back(s.tasks_per_second);
  }
  return out;
}

// The first runtime against each other: per-round ratios, their median and
// range (with one round, the one ratio).
void print_ratios(const std::vector<std::vector<Summary>>& rounds_of) {
  if (rounds_of.front().size() > 1) {
    for (const auto& runs : rounds_of) {
      const auto values = tasks_per_second(runs);
      std::printf("%-18s median %.1f tasks/s over %zu rounds (%.1f-%.1f)\n",
                  runs.front().runtime.c_str(), median(values), values.size(),
                  *std::min_element(values.begin(), values.end()),
                  *std::max_element(values.begin(), values.end()));
    }
  }
  const auto& first = rounds_of.front();
  for (std::size_t i = 1; i < rounds_of.size(); ++i) {
    std::vector<double> speed;
    std::vector<double> memory;
    std::vector<double> cpu;
    std::vector<double> own_cpu;
    for (std::size_t r = 0; r < first.size(); ++r) {
      speed.push_back(first[r].tasks_per_second / std::max(rounds_of[i][r].tasks_per_second, 1e-9));
      cpu.push_back(rounds_of[i][r].cpu_ms_per_task / std::max(first[r].cpu_ms_per_task, 1e-9));
      own_cpu.push_back(rounds_of[i][r].own_cpu_ms_per_task /
                        std::max(first[r].own_cpu_ms_per_task, 1e-9));
      memory.push_back(static_cast<double>(first[r].shim_peak_kib) /
                       static_cast<double>(std::max(rounds_of[i][r].shim_peak_kib, 1L)));
    }
    std::printf("ratio %s / %s: tasks/s %.2fx", first.front().runtime.c_str(),
                rounds_of[i].front().runtime.c_str(), median(speed));
    if (speed.size() > 1) {
      std::printf(" (median of %zu rounds, %.2f-%.2f)", speed.size(),
                  *std::min_element(speed.begin(), speed.end()),
                  *std::max_element(speed.begin(), speed.end()));
    }
    auto print_cpu = [&](const char* whose, const std::vector<double>& values) {
      std::printf(", CPU per task (%s) %s / %s %.2fx (%.2f-%.2f)", whose,
                  rounds_of[i].front().runtime.c_str(), first.front().runtime.c_str(),
                  median(values), *std::min_element(values.begin(), values.end()),
                  *std::max_element(values.begin(), values.end()));
    };
    print_cpu("run", own_cpu);
    print_cpu("machine", cpu);
    // Through containerd the shims' memory is not measured (0).
    if (first.front().shim_peak_kib > 0 && rounds_of[i].front().shim_peak_kib > 0) {
      std::printf(", shim peak RSS %.2fx", median(memory));
    }
    std::printf("\n");
  }
}

void write_json(const Settings& settings, const std::vector<std::vector<Summary>>& rounds_of) {
  nlohmann::json out;
  out["tasks"] = settings.tasks;
  out["concurrency"] = settings.concurrency;
  out["rounds"] = settings.rounds;
  for (const auto& runs : rounds_of) {
    const Summary& s = runs.front();
    auto& entry = out["runtimes"][s.runtime];
    entry = {{"tasks_per_second", median(tasks_per_second(runs))},
             {"tasks_per_second_by_round", tasks_per_second(runs)},
             {"cpu_ms_per_task", s.cpu_ms_per_task},
             {"run_cpu_ms_per_task", s.own_cpu_ms_per_task},
             {"failed", s.failed},
             {"shim_peak_kib", s.shim_peak_kib},
             {"container_peak_kib", s.container_peak_kib},
             {"phases", nlohmann::json::object()}};
    for (const auto& phase : s.phases) {
      entry["phases"][phase.name] = {{"p50_ms", phase.p50}, {"p99_ms", phase.p99}};
    }
  }
  std::ofstream(settings.json_path) << out.dump(2) << "\n";
}

}  // namespace

int run_stress(int argc, char** argv) {
  Settings settings;
  try {
    settings = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stress: %s\n", e.what());
    return 2;
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "stress: runs shims and containers, which needs root\n");
    return 2;
  }
  char work_template[] = "/tmp/wasmshim-stress-XXXXXX";
  const std::string work = ::mkdtemp(work_template);
  auto run_dir = std::make_unique<RunTmpfs>(work + "/run");
  fs::create_directories(run_dir->path() + "/bundles");
  stage_images(run_dir->path() + "/images");
  prepare_cache(work + "/cache");
  // Everything the runs start is in it; it outlives them.
  RunCgroup cgroup;
  Stress stress(settings, work, cgroup);
  std::vector<Summary> summaries;
  std::printf(
      "%d tasks, %d at once, %s, workload:", settings.tasks, settings.concurrency,
      settings.via_containerd ? "through containerd (its gRPC API)" : "direct to the shims");
  for (const auto& word : settings.workload) {
    std::printf(" %s", word.c_str());
  }
  std::printf("\n");
  std::vector<Runtime> runtimes;
  for (const auto& name : settings.runtimes) {
    auto runtime = runtime_named(name);
    if (!runtime) {
      std::fprintf(stderr, "stress: unknown runtime %s\n", name.c_str());
      return 2;
    }
    runtimes.push_back(*runtime);
  }
  // rounds_of[i][r]: runtime i in round r.
  std::vector<std::vector<Summary>> rounds_of(runtimes.size());
  std::size_t spans_before = 0;
  for (int round = 0; round < settings.rounds; ++round) {
    if (settings.rounds > 1) {
      std::printf("round %d of %d\n", round + 1, settings.rounds);
    }
    for (std::size_t k = 0; k < runtimes.size(); ++k) {
      const std::size_t i = (k + static_cast<std::size_t>(round)) % runtimes.size();
      const Runtime& runtime = runtimes[i];
      const auto run = stress.run(runtime);
      rounds_of[i].push_back(summarize(runtime.name, run));
      print(rounds_of[i].back());
      if (runtime.traced) {
        const std::size_t received = stress.spans_settled();
        std::printf("    spans received: %zu\n", received - spans_before);
        spans_before = received;
      }
    }
  }
  print_ratios(rounds_of);
  if (!settings.json_path.empty()) {
    write_json(settings, rounds_of);
  }
  run_dir.reset();
  fs::remove_all(work);
  ::rmdir("/sys/fs/cgroup/memory/wasmshim-stress");
  int failed = 0;
  for (const auto& runs : rounds_of) {
    for (const auto& s : runs) {
      failed += s.failed;
    }
  }
  return failed == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  try {
    return run_stress(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stress: %s\n", e.what());
    return 2;
  }
}
