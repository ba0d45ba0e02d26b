// A real containerd (Debian's), started by the tests in a private root with
// its own socket, with containerd-shim-wasmshim-v1 on its PATH and the demo
// image imported. Needs root, as containerd does.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace wasmshim::testing {

struct CommandResult {
  std::string output;  // stdout and stderr together
  int status = -1;
};

// Runs a shell command line with a time limit; output merged.
inline CommandResult shell(const std::string& command, int timeout_seconds = 60) {
  auto result =
      run({"/bin/sh", "-c",
           "timeout -s KILL " + std::to_string(timeout_seconds) + " " + command + " 2>&1"});
  return {result.out, result.status};
}

inline std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

class Containerd {
 public:
  static constexpr const char* kImage = "docker.io/wasmshim/demo:latest";

  // `environment`: extra NAME=value entries for containerd (and so for the
  // shims it starts), e.g. the OTEL_* variables. `state`: where containerd
  // keeps its state (the tasks' bundles; a tmpfs on a node, /run/containerd);
  // empty: in the private root.
  explicit Containerd(std::vector<std::string> environment = {}, std::string state = {})
      : environment_(std::move(environment)) {
    root_ = dir_.path().string();
    socket_ = root_ + "/containerd.sock";
    state_ = state.empty() ? root_ + "/state" : std::move(state);
    launch(socket_);
    wait_until_serving(socket_);
    image_ = root_ + "/demo.tar";
    std::ofstream(root_ + "/in.txt") << "data from the image\n";
    auto built = shell(std::string(WASMSHIM_BIN_DIR) + "/wasmshim image -o " + image_ + " --name " +
                       kImage + " --add " + root_ + "/in.txt:/data/in.txt " + WASMSHIM_DEMO_WASM);
    ready_ = built.status == 0 && ctr("image import " + image_).status == 0;
    if (!ready_) {
      error_ = built.output + ctr("image import " + image_).output + log();
    }
  }

  ~Containerd() {
    shell("sh -c " + quote(ctr_prefix() + " task ls -q | while read t; do " + ctr_prefix() +
                           " task kill -s SIGKILL $t; done"));
    stop();
    // A test that failed half-way can leave shims with no containerd to
    // shut them down; they must not outlive the test and confuse the next.
    shell("pkill -KILL -f -- " + quote("-address " + socket_ + " "));
    // Snapshots stay mounted if a test failed half-way; never leave them.
    shell("sh -c " + quote("grep -o ' " + root_ +
                           "[^ ]*' /proc/self/mountinfo | sort -r | "
                           "xargs -r -n1 umount -l"));
  }

  // Stops containerd as a service manager does (SIGTERM) and waits for it to
  // exit. Its root and state stay, and so do the shims it started: they keep
  // running their tasks until a containerd comes back.
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  // Starts containerd again on the same root, state and configuration; it
  // reloads the tasks whose shims still run. `listen_socket`: where its gRPC
  // socket (and, with ".ttrpc" added, its ttrpc socket) listens this time;
  // empty: socket(), as before. False if it does not answer within 10 s.
  bool restart(const std::string& listen_socket = {}) {
    const std::string listen = listen_socket.empty() ? socket_ : listen_socket;
    launch(listen);
    return wait_until_serving(listen);
  }

  bool ready() const { return ready_; }
  const std::string& error() const { return error_; }
  const std::string& root() const { return root_; }
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  std::string ctr_prefix() const { return "/usr/bin/ctr --address " + socket_; }
  CommandResult ctr(const std::string& arguments, int timeout_seconds = 60) const {
    return shell(ctr_prefix() + " " + arguments, timeout_seconds);
  }
  // `ctr run` with our runtime and the demo image.
  CommandResult run(const std::string& flags, const std::string& id, const std::string& args,
                    int timeout_seconds = 60) const {
    return ctr(
        "run " + flags + " --runtime io.containerd.wasmshim.v1 " + kImage + " " + id + " " + args,
        timeout_seconds);
  }
  std::string log() const {
    std::ifstream in(root_ + "/containerd.log");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

 private:
  // Writes the configuration for containerd listening at `listen_socket`
  // and starts it; its log goes on in containerd.log.
  void launch(const std::string& listen_socket) {
    std::ofstream(root_ + "/config.toml")
        << "version = 2\n"
        << "root = \"" << root_ << "/root\"\n"
        << "state = \"" << state_ << "\"\n"
        << "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
        << "[grpc]\n  address = \"" << listen_socket << "\"\n"
        << "[ttrpc]\n  address = \"" << listen_socket << ".ttrpc\"\n";
    const std::string path = std::string(WASMSHIM_BIN_DIR) + ":/usr/sbin:/usr/bin:/sbin:/bin";
    const bool first = !started_once_;
    started_once_ = true;
    pid_ = fork();
    if (pid_ == 0) {
      ::setenv("PATH", path.c_str(), 1);
      // The engine's cache stays inside the test's directory.
      ::setenv("WASMSHIM_CACHE_DIR", (root_ + "/cache").c_str(), 1);
      for (auto& entry : environment_) {
        ::putenv(entry.data());
      }
      std::string log = root_ + "/containerd.log";
      std::freopen(log.c_str(), first ? "w" : "a", stderr);
      std::freopen("/dev/null", "w", stdout);
      ::execl("/usr/bin/containerd", "containerd", "--config", (root_ + "/config.toml").c_str(),
              nullptr);
      ::_exit(127);
    }
  }

  static bool wait_until_serving(const std::string& listen_socket) {
    for (int i = 0; i < 200; ++i) {
      if (shell("/usr/bin/ctr --address " + listen_socket + " version").status == 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  TempDir dir_;
  std::vector<std::string> environment_;
  std::string root_;
  std::string state_;
  bool started_once_ = false;
  std::string socket_;
  std::string image_;
  pid_t pid_ = -1;
  bool ready_ = false;
  std::string error_;
};

}  // namespace wasmshim::testing
