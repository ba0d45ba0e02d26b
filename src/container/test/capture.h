// Runs a SpawnRequest with its stdout on a pipe; returns what it printed.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "wasmshim/container/spawn.h"

namespace wasmshim::container {

inline std::string run_and_capture(SpawnRequest request) {
  int out[2];
  if (::pipe(out) != 0) {
    return "pipe failed";
  }
  request.fds.emplace_back(out[1], 1);
  const pid_t pid = spawn_container_process(request);
  ::close(out[1]);
  std::string text;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(out[0], buffer, sizeof(buffer))) > 0) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  ::waitpid(pid, nullptr, 0);
  return text;
}

}  // namespace wasmshim::container
