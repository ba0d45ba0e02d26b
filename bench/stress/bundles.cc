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

void stage_images(const std::string& images_dir) {
  fs::create_directories(images_dir);
  fs::copy_file(DEMO_NATIVE, fs::path(images_dir) / image_name(BundleKind::native),
                fs::copy_options::overwrite_existing);
  fs::copy_file(DEMO_WASM, fs::path(images_dir) / image_name(BundleKind::wasm),
                fs::copy_options::overwrite_existing);
}

std::string make_bundle(BundleKind kind, const std::string& images_dir, const std::string& dir,
                        const std::string& cgroups_path, const std::vector<std::string>& workload,
                        bool absolute_root) {
  static std::mutex first_use;
  nlohmann::json spec;
  {
    std::lock_guard lock(first_use);
    spec = default_spec();
  }
  fs::create_directories(fs::path(dir) / "rootfs");
  // A link, never a copy made while other threads fork: a child holding the
  // copy's write end open makes runc's exec of it fail with ETXTBSY.
  const char* image = image_name(kind);
  fs::create_hard_link(fs::path(images_dir) / image, fs::path(dir) / "rootfs" / image);
  std::vector<std::string> args{std::string("/") + image};
  args.insert(args.end(), workload.begin(), workload.end());
  spec["process"]["args"] = args;
  spec["process"]["terminal"] = false;
  spec["linux"]["cgroupsPath"] = cgroups_path;
  if (absolute_root) {
    spec["root"]["path"] = (fs::path(dir) / "rootfs").string();
  }
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
