// The zygote and the command line, for real. start_zygote is once per
// process, so each test starts its zygote in a forked child of this test
// binary (which has one thread there) and reports through the exit status.
#include "wasmshim/container/zygote.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "capture.h"
#include "in_child.h"
#include "wasmshim/base/unique_fd.h"
#include "wasmshim/container/command_line.h"
#include "wasmshim/container/setup.h"
#include "zygote_channel.h"

namespace wasmshim::container {
namespace {

std::string command_line_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : text) {
    c = c == '\0' ? ' ' : c;
  }
  return text;
}

// The container program the tests' zygotes run: prints what it was given
// (its argv, an environment variable, its pid and parent) on stdout and
// exits with the status argv[2] names. With argv[3] "--hold" it exits only
// once its stdin ends, so the test reads its command line while it runs.
int report_entry(int argc, char** argv) {
  std::printf("argc=%d role=%s env=%s pid=%d\n", argc, argc > 1 ? argv[1] : "",
              // NOLINTNEXTLINE(concurrency-mt-unsafe): one thread
              std::getenv("ZYGOTE_TEST") != nullptr ? std::getenv("ZYGOTE_TEST") : "(none)",
              static_cast<int>(::getpid()));
  std::fflush(stdout);
  if (argc > 3 && std::string(argv[3]) == "--hold") {
    char byte = 0;
    while (::read(STDIN_FILENO, &byte, 1) > 0) {
    }
  }
  return argc > 2 ? std::atoi(argv[2]) : 0;
}

SpawnRequest report_request(const std::string& code) {
  SpawnRequest request;
  request.path = "/nonexistent/never-exec'd";
  request.argv = {"zygote-test", "--report-role", code};
  request.env = {"ZYGOTE_TEST=from-the-request"};
  return request;
}

TEST(CommandLine, ShowsWhatWasSet) {
  EXPECT_EQ(in_child([] {
              // Shorter than any path to this binary: it fits in place.
              if (!set_command_line({"ws", "a"})) {
                return 1;
              }
              return command_line_of(::getpid()).find("ws a ") == 0 ? 0 : 2;
            }),
            0);
}

TEST(CommandLine, ALongerOneUsesTheEnvironmentsRoomOnceFree) {
  EXPECT_EQ(in_child([] {
              ::clearenv();  // NOLINT(concurrency-mt-unsafe): the child has one thread
              const std::string long_arg(300, 'x');
              if (!set_command_line({"wasmshim-test", "--wasmshim-container", long_arg})) {
                return 1;
              }
              const std::string shown = command_line_of(::getpid());
              return shown.find("wasmshim-test --wasmshim-container xxx") == 0 ? 0 : 2;
            }),
            0);
}

TEST(Zygote, ForksTheProcessAsTheCallersChildRunningTheEntry) {
  EXPECT_EQ(
      in_child([] {
        if (!start_zygote(report_entry, {"zygote-test", "zygote"})) {
          return 1;
        }
        int out[2];
        int in[2];
        if (::pipe(out) != 0 || ::pipe(in) != 0) {
          return 2;
        }
        SpawnRequest request = report_request("7");
        request.argv.emplace_back("--hold");
        request.fds.emplace_back(in[0], STDIN_FILENO);
        request.fds.emplace_back(out[1], STDOUT_FILENO);
        request.namespaces = {{CLONE_NEWUTS, "uts", ""}, {CLONE_NEWIPC, "ipc", ""}};
        const pid_t pid = spawn_container_process(request);
        ::close(in[0]);
        ::close(out[1]);
        // Its line says the entry runs, its command line set; it holds on
        // until its stdin ends.
        std::string text;
        char buffer[512];
        ssize_t n = 0;
        while (text.find('\n') == std::string::npos &&
               (n = ::read(out[0], buffer, sizeof(buffer))) > 0) {
          text.append(buffer, static_cast<std::size_t>(n));
        }
        const std::string shown = command_line_of(pid);
        ::close(in[1]);
        while ((n = ::read(out[0], buffer, sizeof(buffer))) > 0) {
          text.append(buffer, static_cast<std::size_t>(n));
        }
        int status = 0;
        // Our child (CLONE_PARENT), so we wait for it.
        if (::waitpid(pid, &status, 0) != pid) {
          return 3;
        }
        const std::string expected =
            "argc=4 role=--report-role env=from-the-request pid=" + std::to_string(pid) + "\n";
        if (text != expected) {
          std::fprintf(stderr, "got \"%s\", expected \"%s\"\n", text.c_str(), expected.c_str());
          return 4;
        }
        if (shown.find("zygote-test --report-role 7 --hold") != 0) {
          std::fprintf(stderr, "command line \"%s\"\n", shown.c_str());
          return 5;
        }
        return WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : 6;
      }),
      0);
}

TEST(Zygote, NewNamespacesAndAFailedJoinIsNamed) {
  EXPECT_EQ(in_child([] {
              if (!start_zygote(report_entry, {"zygote-test", "zygote"})) {
                return 1;
              }
              SpawnRequest request = report_request("0");
              request.namespaces = {{CLONE_NEWPID, "pid", ""}, {CLONE_NEWNET, "network", ""}};
              const std::string text = run_and_capture(request);
              if (text.find("pid=1\n") == std::string::npos) {
                std::fprintf(stderr, "got \"%s\"\n", text.c_str());
                return 2;
              }
              // A pid namespace file that is not one: the zygote's setns fails.
              request.namespaces = {{CLONE_NEWPID, "pid", "/proc/self/ns/net"}};
              try {
                spawn_container_process(request);
                return 3;
              } catch (const ContainerSetupError& e) {
                if (std::string(e.what()).find("pid namespace") == std::string::npos) {
                  std::fprintf(stderr, "message \"%s\"\n", e.what());
                  return 4;
                }
              }
              return 0;
            }),
            0);
}

TEST(Zygote, WhenItIsGoneSpawnsExecInstead) {
  EXPECT_EQ(in_child([] {
              if (!start_zygote(report_entry, {"zygote-test", "zygote"})) {
                return 1;
              }
              SpawnRequest first = report_request("0");
              const std::string zygote_text = run_and_capture(first);
              if (zygote_text.find("role=--report-role") == std::string::npos) {
                return 3;
              }
              ::signal(SIGPIPE, SIG_IGN);
              // End the zygote, and wait until it has gone: it is the only
              // child of ours left.
              // NOLINTNEXTLINE(cert-env33-c,concurrency-mt-unsafe): one thread
              std::system("pkill -KILL -f '^zygote-test zygote'");
              ::wait(nullptr);
              SpawnRequest by_exec;
              by_exec.path = "/bin/echo";
              by_exec.argv = {"echo", "exec'd"};
              return run_and_capture(by_exec) == "exec'd\n" ? 0 : 4;
            }),
            0);
}

// The framing both processes use: a datagram is read at its own length,
// with its descriptors, and one over the limit is refused with its
// descriptors closed, not left open in the receiver.
struct ChannelPair {
  base::UniqueFd sender;
  base::UniqueFd receiver;
  ChannelPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
    sender.reset(fds[0]);
    receiver.reset(fds[1]);
  }
};

bool is_open(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0;
}

TEST(ZygoteChannel, AMessageArrivesWholeWithItsDescriptors) {
  ChannelPair channel;
  const std::string payload(100000, 'x');
  base::UniqueFd passed(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(detail::send_message(channel.sender.get(), payload, {passed.get()}));
  ASSERT_TRUE(detail::send_message(channel.sender.get(), "second", {}));
  std::string bytes;
  std::vector<int> fds;
  ASSERT_EQ(detail::receive_message(channel.receiver.get(), bytes, fds), 1);
  EXPECT_EQ(bytes, payload);
  ASSERT_EQ(fds.size(), 1U);
  EXPECT_TRUE(is_open(fds[0]));
  EXPECT_EQ(::fcntl(fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  ::close(fds[0]);
  ASSERT_EQ(detail::receive_message(channel.receiver.get(), bytes, fds), 1);
  EXPECT_EQ(bytes, "second");
  EXPECT_TRUE(fds.empty());
}

TEST(ZygoteChannel, AMessageOverTheLimitIsRefusedAndItsDescriptorsClosed) {
  ChannelPair channel;
  int buffer = 4 * 1024 * 1024;
  ::setsockopt(channel.sender.get(), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
  ::setsockopt(channel.receiver.get(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  base::UniqueFd passed(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  for (std::size_t size : {detail::kZygoteMaxMessage + 1, detail::kZygoteMaxMessage + 4096}) {
    ASSERT_TRUE(detail::send_message(channel.sender.get(), std::string(size, 'y'), {passed.get()}))
        << size;
    std::string bytes;
    std::vector<int> fds;
    // The descriptor the refused message carried gets the lowest free
    // number; after the refusal that number is free again.
    base::UniqueFd probe(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const int next_free = probe.get();
    probe.reset();
    EXPECT_EQ(detail::receive_message(channel.receiver.get(), bytes, fds), -1) << size;
    EXPECT_TRUE(fds.empty());
    EXPECT_FALSE(is_open(next_free)) << size;
  }
  std::string bytes;
  std::vector<int> fds;
  const std::string largest(detail::kZygoteMaxMessage, 'z');
  ASSERT_TRUE(detail::send_message(channel.sender.get(), largest, {}));
  ASSERT_EQ(detail::receive_message(channel.receiver.get(), bytes, fds), 1);
  EXPECT_EQ(bytes.size(), largest.size());
}

TEST(ZygoteChannel, APeerThatHasGoneReadsAsTheEnd) {
  ChannelPair channel;
  channel.sender.reset();
  std::string bytes;
  std::vector<int> fds;
  EXPECT_EQ(detail::receive_message(channel.receiver.get(), bytes, fds), 0);
}

}  // namespace
}  // namespace wasmshim::container
