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

// Copies the demo, Wasm and native, into a rootfs of each under
// `images_dir`, which every bundle made from it shares.
void stage_images(const std::string& images_dir);

// Writes `dir`/config.json and returns it; root.path is the image's shared
// rootfs, an absolute path (containerd, handed the spec, makes a bundle of
// its own elsewhere).
std::string make_bundle(BundleKind kind, const std::string& images_dir, const std::string& dir,
                        const std::string& cgroups_path, const std::vector<std::string>& workload);

// Compiles demo.wasm into the cache the shims use (the aot tier), so every
// measured start is a warm one, as on a node that has run the image before.
void prepare_cache(const std::string& cache_dir);
