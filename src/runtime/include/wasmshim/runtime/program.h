// What a container's process.args[0] names, found as the container itself
// will find it (inside its root, through the spec's PATH, as runc resolves
// an entrypoint), and what kind of program it is: a Wasm module for the
// engine, or a native executable (ELF, or a #! script) to exec.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace wasmshim::runtime {

enum class ProgramKind { wasm, native };

struct ContainerProgram {
  ProgramKind kind = ProgramKind::wasm;
  // Absolute, as the container sees it (inside its root).
  std::string path;
  // A #! script's interpreter as its first line names it; empty otherwise.
  std::string interpreter;
};

class ProgramError : public std::runtime_error {
 public:
  // `missing`: nothing of that name is there (containerd's NOT_FOUND),
  // rather than something that cannot run.
  ProgramError(const std::string& what, bool missing)
      : std::runtime_error(what), missing_(missing) {}
  bool missing() const { return missing_; }

 private:
  bool missing_;
};

// The PATH a spec without one gets, as runc and containerd use.
inline constexpr const char* kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// `root`: the container's root directory on the host (its rootfs, or
// /proc/PID/root of a running container). A name with a '/' is taken
// relative to `cwd`; a bare name is looked up in the PATH of `env`
// (executable regular files only), then, for a Wasm module, in `cwd`.
// Throws ProgramError naming the program and what is wrong with it.
ContainerProgram find_program(const std::string& root, const std::string& name,
                              const std::string& cwd, const std::vector<std::string>& env);

}  // namespace wasmshim::runtime
