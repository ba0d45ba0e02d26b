#include "bundles.h"

#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "support/child_process.h"

namespace fs = std::filesystem;

namespace {

const nlohmann::json& default_spec() {
  static const nlohmann::json spec = [] {
    auto out = wasmshim::testing::run({"/usr/bin/ctr", "oci", "spec"});
    if (out.status != 0) {
      throw std::runtime_error("ctr oci spec failed: " + out.out);
    }
    return nlohmann::json::parse(out.out);
  }();
  return spec;
}

const char* image_name(BundleKind kind) {
  return kind == BundleKind::native ? "demo" : "demo.wasm";
}

}  // namespace

// One rootfs per image, shared by every bundle of it, as the layers of an
// image are under each container's overlay on a node: nothing a task does
// touches the image's files (a hard link per bundle would change their
// ctime each time, which a node never does).
fs::path rootfs_of(BundleKind kind, const std::string& images_dir) {
  return fs::path(images_dir) / (kind == BundleKind::native ? "native-rootfs" : "wasm-rootfs");
}

void stage_images(const std::string& images_dir) {
  for (BundleKind kind : {BundleKind::native, BundleKind::wasm}) {
    const fs::path rootfs = rootfs_of(kind, images_dir);
    fs::create_directories(rootfs);
    fs::copy_file(kind == BundleKind::native ? DEMO_NATIVE : DEMO_WASM, rootfs / image_name(kind),
                  fs::copy_options::overwrite_existing);
  }
}

std::string make_bundle(BundleKind kind, const std::string& images_dir, const std::string& dir,
                        const std::string& cgroups_path, const std::vector<std::string>& workload) {
  static std::mutex first_use;
  nlohmann::json spec;
  {
    std::lock_guard lock(first_use);
    spec = default_spec();
  }
  fs::create_directories(dir);
  const char* image = image_name(kind);
  std::vector<std::string> args{std::string("/") + image};
  args.insert(args.end(), workload.begin(), workload.end());
  spec["process"]["args"] = args;
  spec["process"]["terminal"] = false;
  spec["linux"]["cgroupsPath"] = cgroups_path;
  spec["root"]["path"] = rootfs_of(kind, images_dir).string();
  if (kind == BundleKind::wasm_bare) {
    spec.erase("linux");
    spec.erase("mounts");
  }
  std::string text = spec.dump();
  std::ofstream(fs::path(dir) / "config.json") << text;
  return text;
}

void prepare_cache(const std::string& cache_dir) {
  fs::create_directories(cache_dir);
  // NOLINTNEXTLINE(concurrency-mt-unsafe): before any thread starts.
  ::setenv("WASMSHIM_CACHE_DIR", cache_dir.c_str(), 1);
  auto out = wasmshim::testing::run({WASMSHIM_CLI, "compile", DEMO_WASM});
  if (out.status != 0) {
    throw std::runtime_error("wasmshim compile failed: " + out.out);
  }
}
