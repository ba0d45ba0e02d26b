// A node-wide bound on the processes that stay behind a task to export its
// spans: a shim daemon's final export after Shutdown, and the exporter that
// `delete` (or a `start` that spawned no daemon) forks. Such a process may
// wait on the collector for the full export timeout only while it holds a
// slot: an flock on one of `count` numbered files in a directory shared by
// every shim on the node. The kernel releases the lock when the last process
// holding the open file exits, so a crashed exporter frees its slot too.
// Without a free slot a process exports within a short grace only; an
// export it gives up so is counted in the directory.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "wasmshim/base/unique_fd.h"

namespace wasmshim::shim {

struct ExportSlots {
  std::string directory = "/run/wasmshim/export-slots";
  std::size_t count = 8;
  // How long a process without a slot may wait on the collector: a healthy
  // one has answered long before; a dead one costs no more than this.
  std::chrono::milliseconds grace{250};
};

// The defaults, changed by WASMSHIM_EXPORT_SLOTS (a count; 0: no process
// lingers past the grace) and WASMSHIM_EXPORT_SLOTS_DIR. A value that is not
// a count keeps the default, and `problem` (when given) says so.
ExportSlots export_slots_from_env(std::string* problem = nullptr);

// One slot, held while this object (or a forked copy of its fd) lives.
class ExportSlot {
 public:
  ExportSlot() = default;
  explicit ExportSlot(base::UniqueFd lock) : lock_(std::move(lock)) {}
  bool held() const { return lock_.valid(); }

 private:
  base::UniqueFd lock_;
};

// A free slot, without waiting; not held() when all are taken or the
// directory cannot be made.
ExportSlot take_export_slot(const ExportSlots& slots);

// How long a process may wait on the collector: the export timeout with a
// slot, the grace (or the timeout, when shorter) without.
std::chrono::milliseconds export_wait(const ExportSlots& slots, const ExportSlot& slot,
                                      std::chrono::milliseconds timeout);

// Counts one export (a process's spans) that failed without a slot, so its
// spans were dropped; the node's count is the directory's "dropped" file.
void count_dropped_export(const ExportSlots& slots);
std::uint64_t dropped_export_count(const ExportSlots& slots);

// Kills this process (SIGALRM's default action) `after` from now, so an
// exporter that overruns its deadline cannot linger whatever it waits on.
void end_process_after(std::chrono::milliseconds after);

}  // namespace wasmshim::shim
