#include "oci_image.h"

#include <sys/stat.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "commands.h"
#include "wasmshim/base/fd_io.h"
#include "wasmshim/base/sha256.h"

namespace wasmshim::cmd {
namespace {

using base::sha256_hex;
using nlohmann::json;

// A ustar archive in memory: regular files and directories, fixed owner.
class TarWriter {
 public:
  void directory(const std::string& name) { entry(name, "", '5', 0755); }
  void file(const std::string& name, const std::string& data, unsigned mode = 0644) {
    entry(name, data, '0', mode);
  }
  std::string finish() {
    out_.append(1024, '\0');  // two zero blocks end the archive
    return std::move(out_);
  }

 private:
  // width - 1 zero-padded octal digits and a NUL, as ustar wants them.
  static void octal(char* field, std::size_t width, std::uint64_t value) {
    field[width - 1] = '\0';
    for (std::size_t i = width - 1; i-- > 0; value >>= 3) {
      field[i] = static_cast<char>('0' + (value & 7));
    }
  }

  void entry(const std::string& name, const std::string& data, char type, unsigned mode) {
    if (name.size() >= 100) {
      throw std::runtime_error("tar: name too long: " + name);
    }
    char header[512] = {};
    std::copy_n(name.data(), name.size(), header);
    octal(header + 100, 8, mode & 07777U);  // permission bits, as tar keeps them
    octal(header + 108, 8, 0);
    octal(header + 116, 8, 0);
    octal(header + 124, 12, data.size());
    octal(header + 136, 12, 0);
    std::memset(header + 148, ' ', 8);
    header[156] = type;
    std::copy_n("ustar", 6, header + 257);
    std::copy_n("00", 2, header + 263);
    unsigned sum = 0;
    for (char c : header) {
      sum += static_cast<unsigned char>(c);
    }
    std::snprintf(header + 148, 8, "%06o", sum);
    header[155] = ' ';
    out_.append(header, sizeof(header));
    out_ += data;
    out_.append((512 - data.size() % 512) % 512, '\0');
  }

  std::string out_;
};

std::string host_architecture() {
  utsname name{};
  ::uname(&name);
  std::string machine = name.machine;
  if (machine == "x86_64") {
    return "amd64";
  }
  if (machine == "aarch64") {
    return "arm64";
  }
  return machine;
}

std::string read_file(const std::string& path) {
  auto text = base::read_file(path);
  if (!text) {
    throw std::runtime_error("cannot read " + path + ": " + std::generic_category().message(errno));
  }
  return std::move(*text);
}

bool starts_with_bytes(const std::string& data, std::string_view magic) {
  return data.size() >= magic.size() && data.compare(0, magic.size(), magic) == 0;
}

// What may be an image's main file: a Wasm module for our shim, or a native
// program (ELF, or a script its #! line runs) for runc and for the pause
// process of a CRI sandbox. Anything else would only fail at `ctr run`.
void check_main_file(const std::string& path, const std::string& data) {
  if (starts_with_bytes(data, std::string_view("\0asm", 4)) || starts_with_bytes(data, "\177ELF") ||
      starts_with_bytes(data, "#!")) {
    return;
  }
  throw std::runtime_error(path + " is not a Wasm module, an ELF executable or a #! script");
}

// The mode a host file keeps in the image: executable for everyone when its
// owner may run it (a tool a test adds beside the main program), else plain
// data.
unsigned mode_in_image(const std::string& host_path) {
  struct stat status {};
  if (::stat(host_path.c_str(), &status) != 0) {
    throw std::runtime_error("cannot read " + host_path);
  }
  return (status.st_mode & S_IXUSR) != 0 ? 0755U : 0644U;
}

}  // namespace

void write_oci_image(const ImageOptions& options) {
  const std::string module = read_file(options.module_path);
  check_main_file(options.module_path, module);
  std::string in_image = options.path_in_image;
  if (in_image.empty()) {
    in_image = "/" + options.module_path.substr(options.module_path.rfind('/') + 1);
  }
  TarWriter layer_tar;
  layer_tar.file(in_image.substr(1), module, 0755);
  for (const auto& [host, path] : options.extra_files) {
    // Parent directories first, so tools that need them find them.
    for (auto slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      layer_tar.directory(path.substr(1, slash));
    }
    layer_tar.file(path.substr(1), read_file(host), mode_in_image(host));
  }
  const std::string layer = layer_tar.finish();
  const std::string layer_digest = "sha256:" + sha256_hex(layer);
  const std::string architecture = host_architecture();

  const json config = {{"architecture", architecture},
                       {"os", "linux"},
                       {"config", {{"Entrypoint", {in_image}}}},
                       {"rootfs", {{"type", "layers"}, {"diff_ids", {layer_digest}}}},
                       {"history", {{{"created_by", "wasmshim image " + in_image}}}}};
  const std::string config_bytes = config.dump();
  const std::string config_digest = "sha256:" + sha256_hex(config_bytes);
  const json manifest = {{"schemaVersion", 2},
                         {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                         {"config",
                          {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                           {"digest", config_digest},
                           {"size", config_bytes.size()}}},
                         {"layers",
                          {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                            {"digest", layer_digest},
                            {"size", layer.size()}}}}};
  const std::string manifest_bytes = manifest.dump();
  const std::string manifest_digest = "sha256:" + sha256_hex(manifest_bytes);
  std::string tag = "latest";
  if (auto colon = options.name.rfind(':');
      colon != std::string::npos && options.name.find('/', colon) == std::string::npos) {
    tag = options.name.substr(colon + 1);
  }
  const json index = {{"schemaVersion", 2},
                      {"mediaType", "application/vnd.oci.image.index.v1+json"},
                      {"manifests",
                       {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                         {"digest", manifest_digest},
                         {"size", manifest_bytes.size()},
                         {"platform", {{"architecture", architecture}, {"os", "linux"}}},
                         {"annotations",
                          {{"io.containerd.image.name", options.name},
                           {"org.opencontainers.image.ref.name", tag}}}}}}};

  TarWriter image;
  image.file("oci-layout", json{{"imageLayoutVersion", "1.0.0"}}.dump());
  image.file("index.json", index.dump());
  image.directory("blobs/");
  image.directory("blobs/sha256/");
  image.file("blobs/sha256/" + layer_digest.substr(7), layer);
  image.file("blobs/sha256/" + config_digest.substr(7), config_bytes);
  image.file("blobs/sha256/" + manifest_digest.substr(7), manifest_bytes);
  const std::string archive = image.finish();
  std::ofstream out(options.output, std::ios::binary | std::ios::trunc);
  out.write(archive.data(), static_cast<std::streamsize>(archive.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + options.output);
  }
}

int image_command(int argc, char** argv) {
  ImageOptions options;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        throw std::invalid_argument(arg + " needs a value");
      }
      return argv[++i];
    };
    try {
      if (arg == "-o" || arg == "--output") {
        options.output = value();
      } else if (arg == "--name") {
        options.name = value();
      } else if (arg == "--path") {
        options.path_in_image = value();
      } else if (arg == "--add") {
        const std::string spec = value();
        const auto colon = spec.find(':');
        if (colon == std::string::npos || spec.compare(colon + 1, 1, "/") != 0) {
          throw std::invalid_argument("--add takes HOST:/ABSOLUTE/PATH, not " + spec);
        }
        options.extra_files.emplace_back(spec.substr(0, colon), spec.substr(colon + 1));
      } else if (!arg.starts_with("-") && options.module_path.empty()) {
        options.module_path = arg;
      } else {
        throw std::invalid_argument("unexpected argument " + arg);
      }
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "wasmshim image: %s\n", e.what());
      return 2;
    }
  }
  if (options.output.empty() || options.name.empty() || options.module_path.empty()) {
    std::fprintf(stderr,
                 "usage: wasmshim image -o OUT.tar --name REF [--path /IN/IMAGE] "
                 "[--add HOST:/PATH]... app.wasm|program\n");
    return 2;
  }
  if (!options.path_in_image.empty() && !options.path_in_image.starts_with("/")) {
    std::fprintf(stderr, "wasmshim image: --path must be absolute\n");
    return 2;
  }
  try {
    write_oci_image(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wasmshim image: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace wasmshim::cmd
