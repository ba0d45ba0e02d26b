// End to end: Wasm containers under a real containerd and ctr (Debian's),
// through containerd-shim-wasmshim-v1.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "containerd_fixture.h"
#include "support/ctr_events.h"
#include "support/processes.h"

namespace wasmshim::testing {
namespace {

using namespace std::chrono_literals;

class ContainerdE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      return;
    }
    containerd_ = new Containerd();
  }
  static void TearDownTestSuite() {
    delete containerd_;
    containerd_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the end-to-end tests run containerd, which needs root";
    ASSERT_TRUE(containerd_->ready()) << containerd_->error();
  }
  static Containerd& containerd() { return *containerd_; }

  // Polls `ctr task ls` until the task shows `status` (or 20 s pass).
  static bool wait_for_task(const std::string& id, const std::string& status) {
    for (int i = 0; i < 400; ++i) {
      auto tasks = containerd().ctr("task ls");
      if (std::regex_search(tasks.output, std::regex("(^|\\n)" + id + "\\s+\\d+\\s+" + status))) {
        return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // Waits until no shim process is left: each exits a moment after its
  // last task's Shutdown, which may be after ctr has returned. False if one
  // is still there after a generous bound.
  static bool wait_for_no_shims() {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (!processes_named("containerd-shim-wasmshim-v1").empty()) {
      if (std::chrono::steady_clock::now() > give_up) {
        return false;
      }
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  // The pid `ctr task ls` shows for task `id`; 0 if it shows none.
  static pid_t task_pid(const std::string& id) {
    std::smatch match;
    const std::string tasks = containerd().ctr("task ls").output;
    if (std::regex_search(tasks, match, std::regex("(^|\\n)" + id + "\\s+(\\d+)\\s"))) {
      return static_cast<pid_t>(std::stol(match[2].str()));
    }
    return 0;
  }

  static inline Containerd* containerd_ = nullptr;
};

// The shim's processes by what they do: "serve" (a daemon), "zygote",
// "--wasmshim-container"; anything else under its own command line.
std::multimap<std::string, pid_t> processes_by_role() {
  std::multimap<std::string, pid_t> roles;
  for (pid_t pid : processes_named("containerd-shim-wasmshim-v1")) {
    const std::string cmdline = command_line_of(pid);
    std::string role = cmdline;
    for (const char* known : {"--wasmshim-container", " zygote", " serve"}) {
      if (cmdline.find(known) != std::string::npos) {
        role = known[0] == ' ' ? known + 1 : known;
        break;
      }
    }
    roles.emplace(role, pid);
  }
  return roles;
}

std::string describe(const std::multimap<std::string, pid_t>& roles) {
  std::string out;
  for (const auto& [role, pid] : roles) {
    out += std::to_string(pid) + ": " + command_line_of(pid) + "\n";
  }
  return out;
}

std::size_t fd_count(pid_t pid) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++count;
  }
  return count;
}

std::size_t mounts_under(const std::string& root) {
  std::ifstream in("/proc/self/mountinfo");
  std::size_t count = 0;
  std::string line;
  while (std::getline(in, line)) {
    count += line.find(" " + root + "/") != std::string::npos ? 1U : 0U;
  }
  return count;
}

std::set<std::string> shim_sockets() {
  std::set<std::string> out;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/run/containerd/s", error)) {
    out.insert(entry.path().string());
  }
  return out;
}

TEST_F(ContainerdE2E, EchoPrintsItsArguments) {
  auto result = containerd().run("--rm", "echo", "/demo.wasm echo hello");
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(result.output, "hello\n");
}

TEST_F(ContainerdE2E, ExitStatusIsTheModules) {
  auto result = containerd().run("--rm", "exit3", "/demo.wasm exit 3");
  EXPECT_EQ(result.status, 3) << result.output;
}

TEST_F(ContainerdE2E, KillEndsASleepingTask) {
  for (const auto& [signal, status] :
       {std::pair<std::string, int>{"SIGTERM", 143}, {"SIGKILL", 137}}) {
    const std::string id = "sleep-" + signal;
    ChildProcess running({"/bin/sh", "-c",
                          containerd().ctr_prefix() +
                              " run --rm --runtime io.containerd.wasmshim.v1 " +
                              Containerd::kImage + " " + id + " /demo.wasm sleep 30"});
    ASSERT_TRUE(wait_for_task(id, "RUNNING")) << containerd().ctr("task ls").output;
    auto kill = containerd().ctr("task kill -s " + signal + " " + id);
    EXPECT_EQ(kill.status, 0) << kill.output;
    EXPECT_EQ(running.wait(), status) << signal;
  }
}

TEST_F(ContainerdE2E, DetachedTaskListKillDelete) {
  auto started = containerd().run("-d", "detached", "/demo.wasm daemon");
  ASSERT_EQ(started.status, 0) << started.output;
  ASSERT_TRUE(wait_for_task("detached", "RUNNING"));
  auto listed = containerd().ctr("task ps detached");
  EXPECT_EQ(listed.status, 0) << listed.output;
  auto killed = containerd().ctr("task kill detached");
  EXPECT_EQ(killed.status, 0) << killed.output;
  ASSERT_TRUE(wait_for_task("detached", "STOPPED"));
  auto deleted = containerd().ctr("task delete detached");
  EXPECT_EQ(deleted.status, 0) << deleted.output;
  EXPECT_EQ(containerd().ctr("container delete detached").status, 0);
  EXPECT_EQ(containerd().ctr("task ls -q").output, "");
}

TEST_F(ContainerdE2E, OutlivesTheClientReadingItsOutput) {
  ChildProcess client({"/usr/bin/ctr", "--address", containerd().socket(), "run", "--runtime",
                       "io.containerd.wasmshim.v1", Containerd::kImage, "orphaned", "/demo.wasm",
                       "daemon"});
  auto first = client.read_line();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, "daemon tick 1");
  const pid_t task = task_pid("orphaned");
  ASSERT_GT(task, 0) << containerd().ctr("task ls").output;
  // The client dies with the task writing to the fifo it was reading.
  client.signal(SIGKILL);
  client.wait();
  // The task writes two more ticks with nobody reading (a tick a second):
  // proof it went on past its reader, instead of a guess at how long
  // dying would take.
  const auto before = write_calls(task);
  ASSERT_TRUE(before.has_value());
  bool wrote_on = false;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (!wrote_on && std::chrono::steady_clock::now() < give_up) {
    const auto now = write_calls(task);
    if (!now) {
      break;  // gone
    }
    wrote_on = *now >= *before + 2;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(wrote_on) << "the task stopped writing once its reader had gone";
  EXPECT_TRUE(wait_for_task("orphaned", "RUNNING")) << containerd().ctr("task ls").output;
  containerd().ctr("task kill -s SIGKILL orphaned");
  ASSERT_TRUE(wait_for_task("orphaned", "STOPPED"));
  EXPECT_EQ(containerd().ctr("task delete orphaned").status, 0);
  EXPECT_EQ(containerd().ctr("container delete orphaned").status, 0);
}

TEST_F(ContainerdE2E, ReadsAndWritesFilesInItsRootfs) {
  auto read = containerd().run("--rm", "reader", "/demo.wasm read /data/in.txt");
  EXPECT_EQ(read.status, 0) << read.output;
  EXPECT_EQ(read.output, "data from the image\n");
  // Written into the container's own snapshot: find it on the host.
  auto written = containerd().run("", "writer", "/demo.wasm write /out.txt written by wasm");
  EXPECT_EQ(written.status, 0) << written.output;
  auto mounts = containerd().ctr("snapshots mounts /mnt writer");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(mounts.output, match, std::regex("upperdir=([^,]+)")))
      << mounts.output;
  std::ifstream out(match[1].str() + "/out.txt");
  std::string text((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "written by wasm\n");
  EXPECT_EQ(containerd().ctr("container delete writer").status, 0);
}

TEST_F(ContainerdE2E, ManyContainersLeaveNothingBehind) {
  const auto sockets_before = shim_sockets();
  const std::size_t containerd_fds = fd_count(containerd().pid());
  for (int i = 0; i < 50; ++i) {
    auto result = containerd().run("--rm", "seq-" + std::to_string(i),
                                   "/demo.wasm echo sequential " + std::to_string(i));
    ASSERT_EQ(result.status, 0) << result.output;
    ASSERT_EQ(result.output, "sequential " + std::to_string(i) + "\n");
  }
  std::vector<std::unique_ptr<ChildProcess>> parallel;
  for (int i = 0; i < 10; ++i) {
    parallel.push_back(std::make_unique<ChildProcess>(std::vector<std::string>{
        "/bin/sh", "-c",
        containerd().ctr_prefix() + " run --rm --runtime io.containerd.wasmshim.v1 " +
            Containerd::kImage + " par-" + std::to_string(i) + " /demo.wasm echo parallel " +
            std::to_string(i)}));
  }
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(parallel[static_cast<std::size_t>(i)]->read_all(),
              "parallel " + std::to_string(i) + "\n");
    EXPECT_EQ(parallel[static_cast<std::size_t>(i)]->wait(), 0);
  }
  // Shims exit after their last task.
  EXPECT_TRUE(wait_for_no_shims()) << describe(processes_by_role());
  EXPECT_TRUE(processes_named("--wasmshim-container").empty());
  EXPECT_EQ(mounts_under(containerd().root() + "/state"), 0u);
  EXPECT_EQ(shim_sockets(), sockets_before);
  // containerd holds no more descriptors than before (a little slack for
  // its own caches, far below one per container).
  EXPECT_LE(fd_count(containerd().pid()), containerd_fds + 5);
  EXPECT_EQ(containerd().ctr("task ls -q").output, "");
  EXPECT_EQ(containerd().ctr("container ls -q").output, "");
}

TEST_F(ContainerdE2E, RecoversFromAShimKilledMidRun) {
  auto started = containerd().run("-d", "orphan", "/demo.wasm sleep 60");
  ASSERT_EQ(started.status, 0) << started.output;
  ASSERT_TRUE(wait_for_task("orphan", "RUNNING"));
  // The daemon, its zygote and the container process the zygote forked.
  auto shims = processes_by_role();
  ASSERT_EQ(shims.size(), 3u) << describe(shims);
  ASSERT_EQ(shims.count("serve"), 1u) << describe(shims);
  ASSERT_EQ(shims.count("zygote"), 1u) << describe(shims);
  ASSERT_EQ(shims.count("--wasmshim-container"), 1u) << describe(shims);
  ::kill(shims.find("serve")->second, SIGKILL);
  // containerd sees the shim gone, runs `delete`, and the task ends.
  for (int i = 0; i < 200 && !containerd().ctr("task ls -q").output.empty(); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(containerd().ctr("task ls -q").output, "") << containerd().ctr("task ls").output;
  for (int i = 0; i < 100 && !processes_named("--wasmshim-container").empty(); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(processes_named("--wasmshim-container").empty());
  // `delete` removes the container's cgroup that the dead shim made (it may
  // still be at it when the process is gone).
  const char* cgroup = "/sys/fs/cgroup/memory/default/orphan";
  for (int i = 0; i < 100 && std::filesystem::exists(cgroup); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_FALSE(std::filesystem::exists(cgroup));
  EXPECT_EQ(containerd().ctr("container delete orphan").status, 0);
  auto next = containerd().run("--rm", "after-orphan", "/demo.wasm echo still working");
  EXPECT_EQ(next.status, 0) << next.output;
  EXPECT_EQ(next.output, "still working\n");
}

TEST_F(ContainerdE2E, BadInputGivesAClearError) {
  auto missing = containerd().run("--rm", "missing", "/nope.wasm");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.output.find("/nope.wasm: no such file in the container's root filesystem"),
            std::string::npos)
      << missing.output;

  auto not_wasm = containerd().run("--rm", "notwasm", "/data/in.txt");
  EXPECT_NE(not_wasm.status, 0);
  EXPECT_NE(not_wasm.output.find("/data/in.txt is neither a Wasm module (\\0asm) nor a native "
                                 "executable (ELF or a #! script)"),
            std::string::npos)
      << not_wasm.output;

  auto option =
      containerd().run("--rm --runtime-config-path /etc/hostname", "option", "/demo.wasm echo x");
  EXPECT_NE(option.status, 0);
  EXPECT_NE(option.output.find("unknown runtime options of type runtimeoptions.v1.Options"),
            std::string::npos)
      << option.output;

  // ctr -t needs a console of its own: script(1) gives it one.
  auto terminal =
      shell("script -qec " +
            quote(containerd().ctr_prefix() + " run --rm -t --runtime io.containerd.wasmshim.v1 " +
                  Containerd::kImage + " tty /demo.wasm echo x") +
            " /dev/null");
  EXPECT_NE(terminal.output.find("a terminal (ctr -t, tty: true) is not supported"),
            std::string::npos)
      << terminal.output;
  const std::string tty_spec = containerd().root() + "/tty-spec.json";
  std::ofstream(tty_spec)
      << R"({"ociVersion":"1.0.2","process":{"args":["/demo.wasm"],"terminal":true,"cwd":"/"},)"
      << R"("root":{"path":"rootfs"}})";
  auto tty_config = containerd().ctr("run --rm --runtime io.containerd.wasmshim.v1 --config " +
                                     tty_spec + " ttyspec");
  EXPECT_NE(tty_config.status, 0);
  EXPECT_NE(tty_config.output.find("asks for a terminal"), std::string::npos) << tty_config.output;

  // A spec whose process has no args: the shim names the field.
  const std::string spec = containerd().root() + "/bad-spec.json";
  std::ofstream(spec)
      << R"({"ociVersion":"1.0.2","process":{"args":[],"cwd":"/"},"root":{"path":"rootfs"}})";
  auto bad_spec = containerd().ctr("run --rm --runtime io.containerd.wasmshim.v1 --config " + spec +
                                   " badspec");
  EXPECT_NE(bad_spec.status, 0);
  EXPECT_NE(bad_spec.output.find("process.args is empty"), std::string::npos) << bad_spec.output;

  // Nothing was left running, and containers still work.
  EXPECT_TRUE(wait_for_no_shims()) << describe(processes_by_role());
  auto after = containerd().run("--rm", "after-bad", "/demo.wasm echo fine");
  EXPECT_EQ(after.output, "fine\n");
}

// Runs `module` (bytes) as /MODULE in a root of its own, through a spec
// whose root is that directory.
CommandResult run_module_bytes(Containerd& containerd, const std::string& name,
                               const std::string& bytes) {
  const std::string root = containerd.root() + "/modules-" + name;
  std::filesystem::create_directories(root);
  std::ofstream(root + "/" + name + ".wasm", std::ios::binary) << bytes;
  const std::string spec = containerd.root() + "/" + name + "-spec.json";
  std::ofstream(spec) << R"({"ociVersion":"1.0.2","process":{"args":["/)" << name
                      << R"(.wasm"],"cwd":"/"},"root":{"path":")" << root << R"("}})";
  return containerd.ctr("run --rm --runtime io.containerd.wasmshim.v1 --config " + spec + " " +
                        name);
}

TEST_F(ContainerdE2E, AMalformedModuleFailsAtCreateByItsContainerPath) {
  const std::string header("\0asm\x01\0\0\0", 8);
  // A code section claiming more bytes than the file has: refused at Create,
  // so the task never starts.
  auto cut = run_module_bytes(containerd(), "cut", header + std::string("\x0a\x7f\x00", 3));
  EXPECT_NE(cut.status, 0);
  EXPECT_NE(cut.output.find("failed to create shim task"), std::string::npos) << cut.output;
  EXPECT_NE(cut.output.find("/cut.wasm: offset 8: malformed module: code section of 127 bytes "
                            "runs past the end of the file"),
            std::string::npos)
      << cut.output;

  // An import the host does not provide: refused at Create too.
  auto lacking = run_module_bytes(containerd(), "lacking",
                                  header + std::string("\x01\x04\x01\x60\x00\x00"
                                                       "\x02\x09\x01\x03"
                                                       "env\x01"
                                                       "f\x00\x00",
                                                       17));
  EXPECT_NE(lacking.status, 0);
  EXPECT_NE(lacking.output.find("failed to create shim task"), std::string::npos) << lacking.output;
  EXPECT_NE(lacking.output.find("/lacking.wasm: offset 0: imports env.f, which is not provided"),
            std::string::npos)
      << lacking.output;

  // Well framed, but its one function body holds no instruction there is:
  // found when the engine reads the code, in the started task, and still
  // named as the container sees it.
  const std::string body_bad = header + std::string(
                                            "\x01\x04\x01\x60\x00\x00"  // type () -> ()
                                            "\x03\x02\x01\x00"          // one function
                                            "\x07\x0a\x01\x06_start\x00\x00"
                                            "\x0a\x05\x01\x03\x00\xff\x0b",  // body: 0xff, end
                                            29);
  auto bad_code = run_module_bytes(containerd(), "badcode", body_bad);
  EXPECT_EQ(bad_code.status, 125) << bad_code.output;
  EXPECT_NE(bad_code.output.find("wasmshim: /badcode.wasm: offset "), std::string::npos)
      << bad_code.output;
  EXPECT_EQ(bad_code.output.find(containerd().root()), std::string::npos) << bad_code.output;

  EXPECT_TRUE(wait_for_no_shims()) << describe(processes_by_role());
  auto after = containerd().run("--rm", "after-malformed", "/demo.wasm echo fine");
  EXPECT_EQ(after.output, "fine\n");
}

TEST_F(ContainerdE2E, ContainersOfOneGroupShareAShim) {
  const std::string group = "--annotation io.containerd.wasmshim.group=pod-1 -d";
  ASSERT_EQ(containerd().run(group, "grouped-a", "/demo.wasm daemon").status, 0);
  ASSERT_EQ(containerd().run(group, "grouped-b", "/demo.wasm daemon").status, 0);
  ASSERT_TRUE(wait_for_task("grouped-a", "RUNNING"));
  ASSERT_TRUE(wait_for_task("grouped-b", "RUNNING"));
  auto shims = processes_by_role();
  EXPECT_EQ(shims.count("serve"), 1u) << describe(shims);
  EXPECT_EQ(shims.count("zygote"), 1u) << describe(shims);
  EXPECT_EQ(shims.count("--wasmshim-container"), 2u) << describe(shims);
  for (const char* id : {"grouped-a", "grouped-b"}) {
    EXPECT_EQ(containerd().ctr(std::string("task kill -s SIGKILL ") + id).status, 0);
    ASSERT_TRUE(wait_for_task(id, "STOPPED"));
    EXPECT_EQ(containerd().ctr(std::string("task delete ") + id).status, 0);
    EXPECT_EQ(containerd().ctr(std::string("container delete ") + id).status, 0);
  }
  EXPECT_TRUE(wait_for_no_shims()) << describe(processes_by_role());
}

// Waits for every aot build the shim left behind in `cache`: each holds
// its entry's lock file until it exits (and takes it before the task's exit
// is published).
void wait_for_background_builds(const std::filesystem::path& cache) {
  for (const auto& entry : std::filesystem::directory_iterator(cache)) {
    if (entry.path().extension() == ".lock") {
      const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        ::flock(fd, LOCK_EX);
        ::close(fd);
      }
    }
  }
}

// The node's cache damaged as a full disk or a bad block leaves it: every
// compiled object cut in half. The next container runs right and says so;
// the one after finds whole entries again.
TEST_F(ContainerdE2E, ADamagedCacheEntryIsRebuiltAndSaidOnce) {
  const std::filesystem::path cache = containerd().root() + "/cache";
  auto first = containerd().run("--rm", "cache-first", "/demo.wasm echo first");
  ASSERT_EQ(first.status, 0) << first.output;
  wait_for_background_builds(cache);
  int damaged = 0;
  for (const auto& entry : std::filesystem::directory_iterator(cache)) {
    const std::string extension = entry.path().extension().string();
    if ((extension == ".jit" || extension == ".so") && entry.path().filename().string()[0] != '.') {
      std::filesystem::resize_file(entry.path(), std::filesystem::file_size(entry.path()) / 2);
      ++damaged;
    }
  }
  ASSERT_GT(damaged, 0);

  auto second = containerd().run("--rm", "cache-second", "/demo.wasm echo second");
  EXPECT_EQ(second.status, 0) << second.output;
  EXPECT_NE(second.output.find("second\n"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("is damaged"), std::string::npos) << second.output;
  wait_for_background_builds(cache);

  auto third = containerd().run("--rm", "cache-third", "/demo.wasm echo third");
  EXPECT_EQ(third.status, 0) << third.output;
  EXPECT_EQ(third.output, "third\n");
}

TEST_F(ContainerdE2E, PublishesTaskEvents) {
  ChildProcess events = ctr_events(containerd().socket());
  std::string seen;
  ASSERT_TRUE(subscribed(events, containerd().socket(), seen)) << seen;
  auto result = containerd().run("--rm", "evented", "/demo.wasm exit 7");
  EXPECT_EQ(result.status, 7) << result.output;
  EXPECT_TRUE(read_until(events, {"/tasks/delete", "\"container_id\":\"evented\""}, seen)) << seen;
  events.signal(SIGTERM);
  events.wait();
  for (const char* topic : {"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"}) {
    EXPECT_NE(seen.find(topic), std::string::npos) << topic << " missing from:\n" << seen;
  }
  EXPECT_NE(seen.find("\"exit_status\":7"), std::string::npos) << seen;
  // Exit comes after start, and before delete.
  EXPECT_LT(seen.find("/tasks/start"), seen.find("/tasks/exit"));
  EXPECT_LT(seen.find("/tasks/exit"), seen.find("/tasks/delete"));
}

TEST_F(ContainerdE2E, ShimReportsItsVersion) {
  auto version = shell(std::string(WASMSHIM_BIN_DIR) + "/containerd-shim-wasmshim-v1 -v");
  EXPECT_EQ(version.status, 0);
  EXPECT_NE(version.output.find("Runtime: io.containerd.wasmshim.v1"), std::string::npos);
  EXPECT_NE(version.output.find("Version: "), std::string::npos);
  EXPECT_NE(version.output.find("Revision: "), std::string::npos);
}

}  // namespace
}  // namespace wasmshim::testing
