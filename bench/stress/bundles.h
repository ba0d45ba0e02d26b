// Bundles for the stress runs: containerd's own default spec (from
// `ctr oci spec`, Debian's containerd) over a rootfs holding the demo, as a
// Wasm module or as a static native executable.
#pragma once

#include <string>
#include <vector>

enum class BundleKind {
  wasm,       // demo.wasm, the spec as containerd writes it
  wasm_bare,  // demo.wasm, the spec without "linux": no namespaces, no cgroup
  native,     // the demo built natively (static), for runc
};

// Copies the demo, Wasm and native, into `images_dir`, which must be on the
// file system of every bundle made from it: each rootfs links to these.
void stage_images(const std::string& images_dir);

// Writes `dir`/config.json and returns it. `absolute_root`: root.path is the
// rootfs's absolute path, for a spec handed to containerd, which makes a
// bundle of its own elsewhere.
std::string make_bundle(BundleKind kind, const std::string& images_dir, const std::string& dir,
                        const std::string& cgroups_path, const std::vector<std::string>& workload,
                        bool absolute_root = false);

// Compiles demo.wasm into the cache the shims use (the aot tier), so every
// measured start is a warm one, as on a node that has run the image before.
void prepare_cache(const std::string& cache_dir);
