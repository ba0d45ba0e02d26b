// `wasmshim image`: a Wasm module (or a native program, for runc and for a CRI
// sandbox's pause process) as an OCI image (image-layout tar) that
// `ctr image import` takes: one layer holding it, a config whose entrypoint is
// it, for the host's platform so ctr unpacks it.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace wasmshim::cmd {

struct ImageOptions {
  std::string module_path;    // the .wasm (or ELF executable, or #! script) on the host
  std::string output;         // the tar to write
  std::string name;           // e.g. docker.io/library/demo:latest
  std::string path_in_image;  // default: "/" + the module's file name
  // Extra files: host path -> absolute path in the image (data, configs,
  // tools); mode 0755 when the host file is executable, else 0644.
  std::vector<std::pair<std::string, std::string>> extra_files;
};

// Throws std::runtime_error naming what could not be read or written, or the
// main file when it is neither Wasm nor a native program.
void write_oci_image(const ImageOptions& options);

// wasmshim image -o OUT.tar --name REF [--path /IN/IMAGE] [--add HOST:/PATH]... app.wasm|program
int image_command(int argc, char** argv);

}  // namespace wasmshim::cmd
