// `wasmshim image`: a Wasm module as an OCI image (image-layout tar) that
// `ctr image import` takes: one layer holding the module, a config whose
// entrypoint is the module, for the host's platform so ctr unpacks it.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace wasmshim::cmd {

struct ImageOptions {
  std::string module_path;    // the .wasm on the host
  std::string output;         // the tar to write
  std::string name;           // e.g. docker.io/library/demo:latest
  std::string path_in_image;  // default: "/" + the module's file name
  // Extra files: host path -> absolute path in the image (data, configs).
  std::vector<std::pair<std::string, std::string>> extra_files;
};

// Throws std::runtime_error naming what could not be read or written.
void write_oci_image(const ImageOptions& options);

// wasmshim image -o OUT.tar --name REF [--path /IN/IMAGE.wasm] [--add HOST:/PATH]... app.wasm
int image_command(int argc, char** argv);

}  // namespace wasmshim::cmd
