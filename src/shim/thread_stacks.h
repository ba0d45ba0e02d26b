// The stack size the daemon's threads get. Its threads each carry one
// request, one exit watch or the event queue: shallow work. glibc's default
// (RLIMIT_STACK, 8 MiB) lets only five freed stacks into its 40 MiB cache,
// so the daemon unmaps the rest as it joins threads (2.4 a task): a TLB
// shootdown on every CPU the process ran on each time. Stacks of
// kDaemonThreadStackBytes all stay in the cache and are reused.
#pragma once

#include <cstddef>

namespace wasmshim::shim {

inline constexpr std::size_t kDaemonThreadStackBytes = std::size_t{1} << 20;

// Makes `bytes` the stack size of every thread this process starts from now
// on (std::thread included). False, with the default unchanged, if glibc
// refused it.
bool set_default_thread_stack(std::size_t bytes);

// The stack size threads started now get.
std::size_t default_thread_stack();

}  // namespace wasmshim::shim
