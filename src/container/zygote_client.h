// The daemon's side of the zygote (zygote.cc), for spawn.cc.
#pragma once

#include <sys/types.h>

#include <optional>

#include "spawn_child.h"

namespace wasmshim::container::detail {

// Has the zygote clone the process; its pid, for finish_spawn. Nothing when
// there is no zygote or it has gone (the caller execs instead); throws
// ContainerSetupError when the zygote could not make the process.
std::optional<pid_t> spawn_through_zygote(const SpawnRequest& request, PreparedSpawn& prepared);

}  // namespace wasmshim::container::detail
