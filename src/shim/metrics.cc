#include "metrics.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "github.com/containerd/cgroups/v2/stats/metrics.pb.h"

namespace wasmshim::shim {
namespace {

// memory.stat keys become fields of the same meaning; v1's proto spells a
// few differently from the kernel.
std::string v1_field_name(std::string key) {
  static const std::pair<const char*, const char*> kRenames[] = {
      {"pgpgin", "pg_pg_in"},  {"pgpgout", "pg_pg_out"},      {"pgmajfault", "pg_maj_fault"},
      {"pgfault", "pg_fault"}, {"memsw_limit", "swap_limit"},
  };
  for (const auto& [from, to] : kRenames) {
    if (auto at = key.find(from); at != std::string::npos) {
      key.replace(at, std::string(from).size(), to);
      break;
    }
  }
  return key;
}

void copy_memory_stat(const std::map<std::string, std::uint64_t>& values,
                      google::protobuf::Message& message, bool v1) {
  const auto* descriptor = message.GetDescriptor();
  const auto* reflection = message.GetReflection();
  for (const auto& [key, value] : values) {
    const auto* field = descriptor->FindFieldByName(v1 ? v1_field_name(key) : key);
    if (field != nullptr &&
        field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_UINT64 &&
        !field->is_repeated()) {
      reflection->SetUInt64(&message, field, value);
    }
  }
}

google::protobuf::Any pack(const google::protobuf::Message& message) {
  google::protobuf::Any any;
  any.set_type_url(message.GetDescriptor()->full_name());
  any.set_value(message.SerializeAsString());
  return any;
}

google::protobuf::Any v1_metrics(const container::CgroupStats& s) {
  io::containerd::cgroups::v1::Metrics metrics;
  auto* pids = metrics.mutable_pids();
  pids->set_current(s.pids_current);
  pids->set_limit(s.pids_limit);
  auto* usage = metrics.mutable_cpu()->mutable_usage();
  usage->set_total(s.cpu_usage_ns);
  usage->set_user(s.cpu_user_ns);
  usage->set_kernel(s.cpu_system_ns);
  for (auto ns : s.cpu_per_cpu_ns) {
    usage->add_per_cpu(ns);
  }
  auto* throttling = metrics.mutable_cpu()->mutable_throttling();
  throttling->set_periods(s.cpu_periods);
  throttling->set_throttled_periods(s.cpu_throttled_periods);
  throttling->set_throttled_time(s.cpu_throttled_ns);
  auto* memory = metrics.mutable_memory();
  copy_memory_stat(s.memory_stat, *memory, true);
  auto* entry = memory->mutable_usage();
  entry->set_usage(s.memory_usage);
  entry->set_max(s.memory_max_usage);
  entry->set_limit(s.memory_limit);
  entry->set_failcnt(s.memory_failcnt);
  metrics.mutable_memory_oom_control()->set_oom_kill(s.oom_kills);
  return pack(metrics);
}

google::protobuf::Any v2_metrics(const container::CgroupStats& s) {
  io::containerd::cgroups::v2::Metrics metrics;
  metrics.mutable_pids()->set_current(s.pids_current);
  metrics.mutable_pids()->set_limit(s.pids_limit);
  auto* cpu = metrics.mutable_cpu();
  cpu->set_usage_usec(s.cpu_usage_ns / 1000);
  cpu->set_user_usec(s.cpu_user_ns / 1000);
  cpu->set_system_usec(s.cpu_system_ns / 1000);
  cpu->set_nr_periods(s.cpu_periods);
  cpu->set_nr_throttled(s.cpu_throttled_periods);
  cpu->set_throttled_usec(s.cpu_throttled_ns / 1000);
  auto* memory = metrics.mutable_memory();
  copy_memory_stat(s.memory_stat, *memory, false);
  memory->set_usage(s.memory_usage);
  memory->set_usage_limit(s.memory_limit);
  metrics.mutable_memory_events()->set_oom(s.oom_events);
  metrics.mutable_memory_events()->set_oom_kill(s.oom_kills);
  return pack(metrics);
}

}  // namespace

google::protobuf::Any metrics_any(const container::CgroupStats& stats) {
  return stats.version == 2 ? v2_metrics(stats) : v1_metrics(stats);
}

}  // namespace wasmshim::shim
