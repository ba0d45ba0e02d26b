#include "bundle_state.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "github.com/containerd/containerd/api/events/task.pb.h"

namespace wasmshim::shim {

namespace {
constexpr const char* kFile = "/wasmshim-task.json";
}

BundleState read_bundle_state(const std::string& bundle) {
  BundleState state;
  std::ifstream in(bundle + kFile);
  auto json = nlohmann::json::parse(in, nullptr, false);
  if (!json.is_object()) {
    return state;
  }
  state.pid = json.value("pid", 0u);
  if (json.contains("exit_status") && json["exit_status"].is_number_unsigned()) {
    state.exit_status = json["exit_status"].get<std::uint32_t>();
    state.exited_at_unix_nano = json.value("exited_at_unix_nano", std::int64_t{0});
  }
  return state;
}

void write_bundle_state(const std::string& bundle, const BundleState& state) {
  nlohmann::json json{{"pid", state.pid}};
  if (state.exit_status) {
    json["exit_status"] = *state.exit_status;
    json["exited_at_unix_nano"] = state.exited_at_unix_nano;
  }
  const std::string path = bundle + kFile;
  std::ofstream out(path + ".tmp");
  out << json.dump();
  out.close();
  std::rename((path + ".tmp").c_str(), path.c_str());
}

void RecordingEventSink::publish(const std::string& topic,
                                 const google::protobuf::MessageLite& event) {
  namespace events = ::containerd::events;
  {
    std::lock_guard lock(mutex_);
    if (const auto* create = dynamic_cast<const events::TaskCreate*>(&event)) {
      bundles_[create->container_id()] = create->bundle();
    } else if (const auto* start = dynamic_cast<const events::TaskStart*>(&event)) {
      if (auto it = bundles_.find(start->container_id()); it != bundles_.end()) {
        write_bundle_state(it->second, {start->pid(), std::nullopt, 0});
      }
    } else if (const auto* exit = dynamic_cast<const events::TaskExit*>(&event);
               exit != nullptr && exit->id() == exit->container_id()) {
      // The task's own exit; an exec's (its own id) says nothing of the task.
      if (auto it = bundles_.find(exit->container_id()); it != bundles_.end()) {
        write_bundle_state(it->second,
                           {exit->pid(), exit->exit_status(),
                            exit->exited_at().seconds() * 1000000000 + exit->exited_at().nanos()});
      }
    } else if (const auto* removed = dynamic_cast<const events::TaskDelete*>(&event)) {
      bundles_.erase(removed->container_id());
    }
  }
  next_.publish(topic, event);
}

}  // namespace wasmshim::shim
