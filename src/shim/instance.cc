#include "wasmshim/shim/instance.h"

#include "wasmshim/ttrpc/status.h"

namespace wasmshim::shim {

std::unique_ptr<Process> Instance::exec(const ExecConfig& config) {
  throw ttrpc::StatusError(ttrpc::StatusCode::kUnimplemented,
                           "exec " + config.exec_id + ": this runtime does not run exec processes");
}

}  // namespace wasmshim::shim
