// A real containerd (Debian's) with its CRI plugin on, driven through CRI as
// a kubelet would: started by the tests in a private root with its own
// socket, containerd-shim-wasmshim-v1 on its PATH, handlers `runc` and
// `wasmshim`, and three images in the `k8s.io` namespace CRI uses: the
// sandbox (pause) image, the demo Wasm image and a native image holding the
// native test tool. Needs root, as containerd does.
#pragma once

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "containerd_fixture.h"
#include "cri/cri_client.h"
#include "support/temp_dir.h"

namespace wasmshim::testing {

class CriContainerd {
 public:
  static constexpr const char* kPauseImage = "docker.io/wasmshim/pause:latest";
  static constexpr const char* kWasmImage = Containerd::kImage;
  static constexpr const char* kNativeImage = "docker.io/wasmshim/native-tool:latest";
  // Where the native image holds the tool (its entrypoint).
  static constexpr const char* kNativeTool = "/native_tool";
  static constexpr const char* kNamespace = "k8s.io";

  // `state_on_tmpfs`: containerd's state (the bundles the shims write in)
  // on a tmpfs of its own, as /run/containerd is on a node; the tests keep
  // it in the private root, a benchmark wants a node's costs.
  explicit CriContainerd(bool state_on_tmpfs = false) {
    root_ = dir_.path().string();
    socket_ = root_ + "/containerd.sock";
    cgroup_parent_ = "/" + dir_.path().filename().string();
    if (state_on_tmpfs) {
      std::filesystem::create_directories(state_dir());
      if (::mount("tmpfs", state_dir().c_str(), "tmpfs", 0, "mode=0711") != 0) {
        error_ = "mounting a tmpfs at " + state_dir() + "\n";
        return;
      }
    }
    write_config();
    start_containerd();
    client_ = std::make_unique<CriClient>("unix://" + socket_, std::chrono::seconds(60));
    if (!wait_for_cri(std::chrono::seconds(30))) {
      error_ = "containerd's CRI never answered Version\n" + log();
      return;
    }
    if (!import_images() || !wait_for_images(std::chrono::seconds(30))) {
      error_ += log();
      return;
    }
    ready_ = true;
  }

  ~CriContainerd() {
    if (client_ != nullptr) {
      remove_all_pods();
    }
    // Anything CRI could not stop (a test that failed half-way) is killed
    // here, before its shim goes, so no container outlives the test.
    shell("sh -c " + quote(ctr_prefix() + " task ls -q | while read t; do " + ctr_prefix() +
                           " task kill -s SIGKILL $t; done"));
    client_.reset();
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    kill_shims();
    // The sandboxes' /dev/shm and the snapshots stay mounted if a test
    // failed half-way; never leave them.
    shell("sh -c " + quote("grep -o ' " + root_ +
                           "[^ ]*' /proc/self/mountinfo | sort -r | "
                           "xargs -r -n1 umount -l"));
    remove_cgroups();
  }

  CriContainerd(const CriContainerd&) = delete;
  CriContainerd& operator=(const CriContainerd&) = delete;

  bool ready() const { return ready_; }
  const std::string& error() const { return error_; }
  const std::string& root() const { return root_; }
  const std::string& socket() const { return socket_; }
  pid_t pid() const { return pid_; }
  CriClient& cri() { return *client_; }
  std::string ctr_prefix() const {
    return std::string("/usr/bin/ctr --address ") + socket_ + " -n " + kNamespace;
  }
  CommandResult ctr(const std::string& arguments, int timeout_seconds = 60) const {
    return shell(ctr_prefix() + " " + arguments, timeout_seconds);
  }
  std::string log() const {
    std::ifstream in(root_ + "/containerd.log");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  // Where containerd keeps the tasks' bundles (config.json, rootfs).
  std::string state_dir() const { return root_ + "/state"; }

  // A pod on the host's network (no CNI needed), as a kubelet asks for one:
  // its own pid namespace per container, a pod ipc namespace, a pod cgroup
  // under this fixture's parent, and its log directory made (the kubelet
  // makes it; containerd only writes the files).
  cri::PodSandboxConfig host_network_pod(const std::string& name) {
    const std::string uid = name + "-" + std::to_string(++pods_made_);
    cri::PodSandboxConfig config;
    auto* metadata = config.mutable_metadata();
    metadata->set_name(name);
    metadata->set_uid(uid);
    metadata->set_namespace_("default");
    metadata->set_attempt(0);
    config.set_log_directory(root_ + "/pods/default_" + name + "_" + uid);
    std::filesystem::create_directories(config.log_directory());
    (*config.mutable_labels())["io.kubernetes.pod.name"] = name;
    auto* linux_config = config.mutable_linux();
    linux_config->set_cgroup_parent(cgroup_parent_ + "/pod" + uid);
    auto* namespaces = linux_config->mutable_security_context()->mutable_namespace_options();
    namespaces->set_network(cri::NODE);
    namespaces->set_pid(cri::CONTAINER);
    namespaces->set_ipc(cri::POD);
    return config;
  }

  // A container of `image` running `command` (the image's entrypoint
  // replaced), its log at <pod's log_directory>/<name>/0.log as the kubelet
  // lays it out, with the directory made. Like the kubelet, it repeats the
  // pod's namespace modes (containerd reads the container's, and would
  // otherwise put it in the sandbox's pid namespace) and names the /proc and
  // /sys paths to mask or make read-only (containerd adds none itself).
  static cri::ContainerConfig container(const cri::PodSandboxConfig& pod, const std::string& name,
                                        const std::string& image,
                                        const std::vector<std::string>& command) {
    cri::ContainerConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_image()->set_image(image);
    for (const auto& word : command) {
      config.add_command(word);
    }
    auto* security = config.mutable_linux()->mutable_security_context();
    *security->mutable_namespace_options() = pod.linux().security_context().namespace_options();
    for (const char* path : {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                             "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                             "/proc/sched_debug", "/proc/scsi", "/sys/firmware"}) {
      security->add_masked_paths(path);
    }
    for (const char* path :
         {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
      security->add_readonly_paths(path);
    }
    config.set_log_path(name + "/0.log");
    std::filesystem::create_directories(pod.log_directory() + "/" + name);
    return config;
  }

 private:
  void write_config() const {
    const std::string cri = "[plugins.\"io.containerd.grpc.v1.cri\"]\n";
    const std::string runtimes = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.";
    std::filesystem::create_directories(root_ + "/cni/bin");
    std::filesystem::create_directories(root_ + "/cni/conf");
    std::ofstream(root_ + "/config.toml")
        << "version = 2\n"
        << "root = \"" << root_ << "/root\"\n"
        << "state = \"" << state_dir() << "\"\n"
        << "[grpc]\n  address = \"" << socket_ << "\"\n"
        << "[ttrpc]\n  address = \"" << socket_ << ".ttrpc\"\n"
        << cri << "  sandbox_image = \"" << kPauseImage
        << "\"\n"
        // Root on a test machine may not lower oom_score_adj (the sandbox asks
        // for -998); restricted, containerd keeps the values at or above ours.
        << "  restrict_oom_score_adj = true\n"
        // Host-network pods need no CNI; the plugin still wants directories.
        << "[plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
        << "  bin_dir = \"" << root_ << "/cni/bin\"\n"
        << "  conf_dir = \"" << root_ << "/cni/conf\"\n"
        << "[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
        << "  default_runtime_name = \"runc\"\n"
        << "  snapshotter = \"overlayfs\"\n"
        << runtimes << "runc]\n  runtime_type = \"io.containerd.runc.v2\"\n"
        << runtimes << "wasmshim]\n  runtime_type = \"io.containerd.wasmshim.v1\"\n";
  }

  void start_containerd() {
    const std::string path = std::string(WASMSHIM_BIN_DIR) + ":/usr/sbin:/usr/bin:/sbin:/bin";
    const std::string cache = root_ + "/cache";
    const std::string log_file = root_ + "/containerd.log";
    const std::string config = root_ + "/config.toml";
    pid_ = fork();
    if (pid_ == 0) {
      ::setenv("PATH", path.c_str(), 1);
      // The engine's cache stays inside the test's directory.
      ::setenv("WASMSHIM_CACHE_DIR", cache.c_str(), 1);
      std::freopen(log_file.c_str(), "w", stderr);
      std::freopen("/dev/null", "w", stdout);
      ::execl("/usr/bin/containerd", "containerd", "--config", config.c_str(), nullptr);
      ::_exit(127);
    }
  }

  // CRI answering Version is the signal that the plugin is up, not only
  // containerd's own services.
  bool wait_for_cri(std::chrono::seconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < give_up) {
      if (client_->version().ok()) {
        return true;
      }
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;  // containerd exited: its log says why
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  bool import_images() {
    const std::string bin = WASMSHIM_BIN_DIR;
    std::ofstream(root_ + "/in.txt") << "data from the image\n";
    // A Wasm header followed by a section id no module has (13).
    std::ofstream(root_ + "/garbage.wasm", std::ios::binary)
        << std::string("\0asm\x01\0\0\0\x0d\0", 10);
    const std::vector<std::pair<std::string, std::string>> images = {
        {"pause", "--name " + std::string(kPauseImage) + " --path /pause " + bin + "/cri_pause"},
        {"wasm", "--name " + std::string(kWasmImage) + " --add " + root_ + "/in.txt:/data/in.txt " +
                     "--add " + root_ + "/garbage.wasm:/data/garbage.wasm " + WASMSHIM_DEMO_WASM},
        {"native", "--name " + std::string(kNativeImage) + " --path " + kNativeTool + " " + bin +
                       "/cri_native_tool"}};
    for (const auto& [name, arguments] : images) {
      const std::string tar = root_ + "/" + name + ".tar";
      auto built = shell(bin + "/wasmshim image -o " + tar + " " + arguments);
      if (built.status != 0) {
        error_ = "wasmshim image (" + name + "): " + built.output;
        return false;
      }
      auto imported = ctr("image import " + tar);
      if (imported.status != 0) {
        error_ = "ctr image import (" + name + "): " + imported.output;
        return false;
      }
    }
    return true;
  }

  // CRI learns of imported images from containerd's events, a moment after
  // the import; a pod run before then would try to pull the pause image.
  bool wait_for_images(std::chrono::seconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    for (const char* image : {kPauseImage, kWasmImage, kNativeImage}) {
      while (!client_->image_status(image).response.has_image()) {
        if (std::chrono::steady_clock::now() > give_up) {
          error_ = std::string("CRI never listed ") + image + "\n";
          return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return true;
  }

  // As the kubelet tears a node's pods down: stop, then remove, each pod.
  void remove_all_pods() {
    auto pods = client_->list_pod_sandbox();
    for (const auto& pod : pods.response.items()) {
      client_->stop_pod_sandbox(pod.id());
      client_->remove_pod_sandbox(pod.id());
    }
  }

  // Shims whose containerd is gone would outlive the test and confuse the
  // next; ours are the ones started with this fixture's socket.
  void kill_shims() const {
    const std::string needle = "-address" + std::string(1, '\0') + socket_ + std::string(1, '\0');
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (!std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        continue;
      }
      std::ifstream in(entry.path() / "cmdline");
      const std::string cmdline{std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>()};
      if (cmdline.find(needle) != std::string::npos) {
        ::kill(static_cast<pid_t>(std::stoi(name)), SIGKILL);
      }
    }
  }

  // The pods' cgroups (runc leaves the parents it made), deepest first.
  void remove_cgroups() const {
    std::vector<std::filesystem::path> directories;
    std::error_code ignored;
    for (const auto& hierarchy : std::filesystem::directory_iterator("/sys/fs/cgroup", ignored)) {
      const auto top = hierarchy.path() / cgroup_parent_.substr(1);
      if (!std::filesystem::is_directory(top, ignored)) {
        continue;
      }
      directories.push_back(top);
      for (const auto& entry : std::filesystem::recursive_directory_iterator(top, ignored)) {
        if (entry.is_directory(ignored)) {
          directories.push_back(entry.path());
        }
      }
    }
    std::sort(directories.begin(), directories.end(),
              [](const auto& a, const auto& b) { return a.native().size() > b.native().size(); });
    for (const auto& directory : directories) {
      ::rmdir(directory.c_str());
    }
  }

  TempDir dir_;
  std::string root_;
  std::string socket_;
  std::string cgroup_parent_;
  pid_t pid_ = -1;
  std::unique_ptr<CriClient> client_;
  int pods_made_ = 0;
  bool ready_ = false;
  std::string error_;
};

}  // namespace wasmshim::testing
