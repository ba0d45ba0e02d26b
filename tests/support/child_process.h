// Test support: start a program with posix_spawn, read its stdout, stop it.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

extern char** environ;

namespace wasmshim::testing {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with stdout on a pipe; stderr is inherited.
  explicit ChildProcess(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw std::system_error(errno, std::generic_category(), "pipe2");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    stdout_fd_ = fds[0];
    if (rc != 0) {
      ::close(stdout_fd_);
      throw std::system_error(rc, std::generic_category(), "posix_spawn " + argv[0]);
    }
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    if (stdout_fd_ >= 0) {
      ::close(stdout_fd_);
    }
  }

  // One line of stdout without its newline; nothing on EOF or timeout.
  std::optional<std::string> read_line(
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto give_up = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          give_up - std::chrono::steady_clock::now());
      pollfd pfd{stdout_fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
        return std::nullopt;
      }
      char chunk[4096];
      ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
      if (n <= 0) {
        return std::nullopt;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // Everything left on stdout until EOF.
  std::string read_all() {
    std::string out = std::move(buffer_);
    buffer_.clear();
    char chunk[4096];
    for (;;) {
      ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return out;
      }
      out.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void signal(int sig) {
    if (pid_ > 0) {
      ::kill(pid_, sig);
    }
  }

  // Waits for exit; returns the exit status, or 128 + signal. `usage`, when
  // given, receives what the child used, the descendants it waited for
  // included (ru_maxrss: the largest one's peak).
  int wait(rusage* usage = nullptr) {
    if (pid_ <= 0) {
      return exit_status_;
    }
    int status = 0;
    while (::wait4(pid_, &status, 0, usage) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_status_;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int exit_status_ = -1;
  std::string buffer_;
};

// Runs a program to completion; returns its stdout and exit status.
struct RunResult {
  int status = -1;
  std::string out;
};
inline RunResult run(const std::vector<std::string>& argv) {
  ChildProcess child(argv);
  RunResult result;
  result.out = child.read_all();
  result.status = child.wait();
  return result;
}

}  // namespace wasmshim::testing
