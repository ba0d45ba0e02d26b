#include "metrics.h"

#include <string_view>
#include <utility>

#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "github.com/containerd/cgroups/v2/stats/metrics.pb.h"

namespace wasmshim::shim {
namespace {

using V1MemoryStat = io::containerd::cgroups::v1::MemoryStat;
using V2MemoryStat = io::containerd::cgroups::v2::MemoryStat;
template <typename Stat>
using Setter = void (Stat::*)(std::uint64_t);

// The uint64 fields of each MemoryStat, by their .proto names (the messages
// are lite: no descriptors to look names up in).
constexpr std::pair<std::string_view, Setter<V1MemoryStat>> kV1MemoryFields[] = {
    {"cache", &V1MemoryStat::set_cache},
    {"rss", &V1MemoryStat::set_rss},
    {"rss_huge", &V1MemoryStat::set_rss_huge},
    {"mapped_file", &V1MemoryStat::set_mapped_file},
    {"dirty", &V1MemoryStat::set_dirty},
    {"writeback", &V1MemoryStat::set_writeback},
    {"pg_pg_in", &V1MemoryStat::set_pg_pg_in},
    {"pg_pg_out", &V1MemoryStat::set_pg_pg_out},
    {"pg_fault", &V1MemoryStat::set_pg_fault},
    {"pg_maj_fault", &V1MemoryStat::set_pg_maj_fault},
    {"inactive_anon", &V1MemoryStat::set_inactive_anon},
    {"active_anon", &V1MemoryStat::set_active_anon},
    {"inactive_file", &V1MemoryStat::set_inactive_file},
    {"active_file", &V1MemoryStat::set_active_file},
    {"unevictable", &V1MemoryStat::set_unevictable},
    {"hierarchical_memory_limit", &V1MemoryStat::set_hierarchical_memory_limit},
    {"hierarchical_swap_limit", &V1MemoryStat::set_hierarchical_swap_limit},
    {"total_cache", &V1MemoryStat::set_total_cache},
    {"total_rss", &V1MemoryStat::set_total_rss},
    {"total_rss_huge", &V1MemoryStat::set_total_rss_huge},
    {"total_mapped_file", &V1MemoryStat::set_total_mapped_file},
    {"total_dirty", &V1MemoryStat::set_total_dirty},
    {"total_writeback", &V1MemoryStat::set_total_writeback},
    {"total_pg_pg_in", &V1MemoryStat::set_total_pg_pg_in},
    {"total_pg_pg_out", &V1MemoryStat::set_total_pg_pg_out},
    {"total_pg_fault", &V1MemoryStat::set_total_pg_fault},
    {"total_pg_maj_fault", &V1MemoryStat::set_total_pg_maj_fault},
    {"total_inactive_anon", &V1MemoryStat::set_total_inactive_anon},
    {"total_active_anon", &V1MemoryStat::set_total_active_anon},
    {"total_inactive_file", &V1MemoryStat::set_total_inactive_file},
    {"total_active_file", &V1MemoryStat::set_total_active_file},
    {"total_unevictable", &V1MemoryStat::set_total_unevictable},
};

constexpr std::pair<std::string_view, Setter<V2MemoryStat>> kV2MemoryFields[] = {
    {"anon", &V2MemoryStat::set_anon},
    {"file", &V2MemoryStat::set_file},
    {"kernel_stack", &V2MemoryStat::set_kernel_stack},
    {"slab", &V2MemoryStat::set_slab},
    {"sock", &V2MemoryStat::set_sock},
    {"shmem", &V2MemoryStat::set_shmem},
    {"file_mapped", &V2MemoryStat::set_file_mapped},
    {"file_dirty", &V2MemoryStat::set_file_dirty},
    {"file_writeback", &V2MemoryStat::set_file_writeback},
    {"anon_thp", &V2MemoryStat::set_anon_thp},
    {"inactive_anon", &V2MemoryStat::set_inactive_anon},
    {"active_anon", &V2MemoryStat::set_active_anon},
    {"inactive_file", &V2MemoryStat::set_inactive_file},
    {"active_file", &V2MemoryStat::set_active_file},
    {"unevictable", &V2MemoryStat::set_unevictable},
    {"slab_reclaimable", &V2MemoryStat::set_slab_reclaimable},
    {"slab_unreclaimable", &V2MemoryStat::set_slab_unreclaimable},
    {"pgfault", &V2MemoryStat::set_pgfault},
    {"pgmajfault", &V2MemoryStat::set_pgmajfault},
    {"workingset_refault", &V2MemoryStat::set_workingset_refault},
    {"workingset_activate", &V2MemoryStat::set_workingset_activate},
    {"workingset_nodereclaim", &V2MemoryStat::set_workingset_nodereclaim},
    {"pgrefill", &V2MemoryStat::set_pgrefill},
    {"pgscan", &V2MemoryStat::set_pgscan},
    {"pgsteal", &V2MemoryStat::set_pgsteal},
    {"pgactivate", &V2MemoryStat::set_pgactivate},
    {"pgdeactivate", &V2MemoryStat::set_pgdeactivate},
    {"pglazyfree", &V2MemoryStat::set_pglazyfree},
    {"pglazyfreed", &V2MemoryStat::set_pglazyfreed},
    {"thp_fault_alloc", &V2MemoryStat::set_thp_fault_alloc},
    {"thp_collapse_alloc", &V2MemoryStat::set_thp_collapse_alloc},
    {"usage", &V2MemoryStat::set_usage},
    {"usage_limit", &V2MemoryStat::set_usage_limit},
    {"swap_usage", &V2MemoryStat::set_swap_usage},
    {"swap_limit", &V2MemoryStat::set_swap_limit},
};

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

template <typename Stat, std::size_t N>
void copy_memory_stat(const std::map<std::string, std::uint64_t>& values, Stat& message,
                      const std::pair<std::string_view, Setter<Stat>> (&fields)[N],
                      std::string (*field_name)(std::string)) {
  for (const auto& [key, value] : values) {
    const std::string name = field_name(key);
    for (const auto& [field, set] : fields) {
      if (field == name) {
        (message.*set)(value);
        break;
      }
    }
  }
}

std::string same_name(std::string key) {
  return key;
}

google::protobuf::Any pack(const google::protobuf::MessageLite& message) {
  google::protobuf::Any any;
  any.set_type_url(message.GetTypeName());
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
  copy_memory_stat(s.memory_stat, *memory, kV1MemoryFields, v1_field_name);
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
  copy_memory_stat(s.memory_stat, *memory, kV2MemoryFields, same_name);
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
