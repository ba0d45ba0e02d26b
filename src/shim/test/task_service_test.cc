#include "task_service.h"

#include <gtest/gtest.h>

#include <csignal>
#include <future>

#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "github.com/containerd/cgroups/v2/stats/metrics.pb.h"
#include "support/temp_dir.h"
#include "support/thread_waits.h"
#include "task_service_fixture.h"
#include "wasmshim/ttrpc/client.h"
#include "wasmshim/ttrpc/protobuf.h"

namespace wasmshim::shim {
namespace {

using namespace std::chrono_literals;
using ttrpc::StatusCode;
using ttrpc::StatusError;

TEST(TaskService, WholeLifeOfATask) {
  Fixture f;
  f.service->create(Fixture::create_request("c1"));
  EXPECT_EQ(f.mounted, std::vector<std::string>{"/bundles/ok"});
  auto state = f.service->state(Fixture::with_id<task::StateRequest>("c1"));
  EXPECT_EQ(state.status(), ::containerd::v1::types::CREATED);
  EXPECT_EQ(state.stdout(), "/run/fifo/stdout");

  EXPECT_EQ(f.service->start(Fixture::with_id<task::StartRequest>("c1")).pid(), 4242u);
  state = f.service->state(Fixture::with_id<task::StateRequest>("c1"));
  EXPECT_EQ(state.status(), ::containerd::v1::types::RUNNING);
  EXPECT_EQ(f.service->pids(Fixture::with_id<task::PidsRequest>("c1")).processes(0).pid(), 4242u);

  f.control->finish(3);
  auto waited = f.service->wait(Fixture::with_id<task::WaitRequest>("c1"));
  EXPECT_EQ(waited.exit_status(), 3u);
  EXPECT_GT(waited.exited_at().seconds(), 0);
  // TaskExit was published before Wait returned.
  EXPECT_EQ(f.events.last_exit_status(), 3u);
  state = f.service->state(Fixture::with_id<task::StateRequest>("c1"));
  EXPECT_EQ(state.status(), ::containerd::v1::types::STOPPED);
  EXPECT_EQ(state.exit_status(), 3u);

  auto deleted = f.service->remove(Fixture::with_id<task::DeleteRequest>("c1"));
  EXPECT_EQ(deleted.exit_status(), 3u);
  EXPECT_EQ(deleted.pid(), 4242u);
  EXPECT_TRUE(f.control->removed);
  EXPECT_EQ(f.unmounted, std::vector<std::string>{"/bundles/ok"});
  EXPECT_EQ(f.service->task_count(), 0u);
  EXPECT_EQ(f.events.topics(), (std::vector<std::string>{"/tasks/create", "/tasks/start",
                                                         "/tasks/exit", "/tasks/delete"}));
  f.service->shutdown({});
  EXPECT_EQ(f.shutdowns, 1);
}

TEST(TaskService, KillEndsARunningTaskWithTheSignalsStatus) {
  Fixture f;
  f.service->create(Fixture::create_request("c1"));
  f.service->start(Fixture::with_id<task::StartRequest>("c1"));
  task::KillRequest kill;
  kill.set_id("c1");
  kill.set_signal(SIGTERM);
  f.service->kill(kill);
  EXPECT_EQ(f.service->wait(Fixture::with_id<task::WaitRequest>("c1")).exit_status(), 143u);
  EXPECT_EQ(f.control->signals, std::vector<std::uint32_t>{SIGTERM});
  EXPECT_EQ(code_of([&] { f.service->kill(kill); }), StatusCode::kNotFound);
}

TEST(TaskService, KillingATaskThatNeverStartedStopsIt) {
  Fixture f;
  f.service->create(Fixture::create_request("c1"));
  task::KillRequest kill;
  kill.set_id("c1");
  kill.set_signal(SIGKILL);
  f.service->kill(kill);
  EXPECT_EQ(f.service->wait(Fixture::with_id<task::WaitRequest>("c1")).exit_status(), 137u);
  EXPECT_EQ(code_of([&] { f.service->start(Fixture::with_id<task::StartRequest>("c1")); }),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.service->remove(Fixture::with_id<task::DeleteRequest>("c1")).exit_status(), 137u);
}

TEST(TaskService, AKillDuringStartWaitsForTheProcess) {
  Fixture f;
  f.control->hold_start = true;
  f.service->create(Fixture::create_request("c1"));
  auto starting = std::async(std::launch::async, [&] {
    return f.service->start(Fixture::with_id<task::StartRequest>("c1")).pid();
  });
  {
    std::unique_lock lock(f.control->mutex);
    f.control->changed.wait(lock, [&] { return f.control->start_entered; });
  }
  task::KillRequest kill;
  kill.set_id("c1");
  kill.set_signal(SIGTERM);
  std::promise<pid_t> killer;
  auto killing = std::async(std::launch::async, [&] {
    killer.set_value(wasmshim::testing::current_thread_id());
    f.service->kill(kill);
  });
  // Not answered "still starting": it waits, asleep, while the process does
  // not exist. (The Start is let go either way, so a failure ends the test.)
  const bool kill_waits = wasmshim::testing::wait_until_in_condition_wait(
      killer.get_future().get(), [&] { return killing.wait_for(0s) == std::future_status::ready; });
  {
    std::lock_guard lock(f.control->mutex);
    EXPECT_TRUE(f.control->signals.empty());
    f.control->hold_start = false;
    f.control->changed.notify_all();
  }
  EXPECT_TRUE(kill_waits) << "the Kill did not wait for the process to exist";
  EXPECT_EQ(starting.get(), 4242u);
  ASSERT_NO_THROW(killing.get());
  EXPECT_EQ(f.service->wait(Fixture::with_id<task::WaitRequest>("c1")).exit_status(), 143u);
  EXPECT_EQ(f.control->signals, std::vector<std::uint32_t>{SIGTERM});
}

TEST(TaskService, CreateErrors) {
  Fixture f;
  f.service->create(Fixture::create_request("c1"));
  EXPECT_EQ(code_of([&] { f.service->create(Fixture::create_request("c1")); }),
            StatusCode::kAlreadyExists);
  auto terminal = Fixture::create_request("t");
  terminal.set_terminal(true);
  EXPECT_EQ(code_of([&] { f.service->create(terminal); }), StatusCode::kInvalidArgument);
  auto checkpoint = Fixture::create_request("cp");
  checkpoint.set_checkpoint("/x");
  EXPECT_EQ(code_of([&] { f.service->create(checkpoint); }), StatusCode::kUnimplemented);
  EXPECT_EQ(code_of([&] { f.service->create(task::CreateTaskRequest()); }),
            StatusCode::kInvalidArgument);
  try {
    f.service->create(Fixture::create_request("bad", "/bundles/bad-module"));
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(e.status().message(), "/demo.wasm: not a Wasm module");
  }
  // The failed create unmounted what it mounted.
  EXPECT_EQ(f.unmounted, std::vector<std::string>{"/bundles/bad-module"});
  try {
    f.service->create(Fixture::create_request("broken", "/bundles/broken"));
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(e.status().code(), StatusCode::kInternal);
    EXPECT_NE(e.status().message().find("disk on fire"), std::string::npos);
  }
  auto bad_mount = Fixture::create_request("m");
  bad_mount.mutable_rootfs(0)->set_type("fail");
  EXPECT_EQ(code_of([&] { f.service->create(bad_mount); }), StatusCode::kInternal);
  EXPECT_EQ(f.service->task_count(), 1u);
}

TEST(TaskService, ErrorsOfTheOtherCalls) {
  Fixture f;
  EXPECT_EQ(code_of([&] { f.service->start(Fixture::with_id<task::StartRequest>("nope")); }),
            StatusCode::kNotFound);
  EXPECT_EQ(code_of([&] { f.service->state(Fixture::with_id<task::StateRequest>("nope")); }),
            StatusCode::kNotFound);
  f.service->create(Fixture::create_request("c1"));
  f.service->start(Fixture::with_id<task::StartRequest>("c1"));
  EXPECT_EQ(code_of([&] { f.service->start(Fixture::with_id<task::StartRequest>("c1")); }),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(code_of([&] { f.service->remove(Fixture::with_id<task::DeleteRequest>("c1")); }),
            StatusCode::kFailedPrecondition);
  task::StateRequest exec_state;
  exec_state.set_id("c1");
  exec_state.set_exec_id("e1");
  EXPECT_EQ(code_of([&] { f.service->state(exec_state); }), StatusCode::kNotFound);
  EXPECT_EQ(code_of([&] { f.service->resize_pty(Fixture::with_id<task::ResizePtyRequest>("c1")); }),
            StatusCode::kFailedPrecondition);
  // No cgroup, no metrics: said so, not a made-up zero.
  EXPECT_EQ(code_of([&] { f.service->stats(Fixture::with_id<task::StatsRequest>("c1")); }),
            StatusCode::kNotFound);
  f.service->close_io(Fixture::with_id<task::CloseIORequest>("c1"));
  f.service->update(Fixture::with_id<task::UpdateTaskRequest>("c1"));
  auto resize = Fixture::with_id<task::UpdateTaskRequest>("c1");
  resize.mutable_resources()->set_value(R"({"memory":{"limit":1048576}})");
  EXPECT_EQ(code_of([&] { f.service->update(resize); }), StatusCode::kUnimplemented);
  // Shutdown while a task lives does nothing.
  f.service->shutdown({});
  EXPECT_EQ(f.shutdowns, 0);
  f.control->finish(0);
}

TEST(TaskService, StartFailureStopsTheTask) {
  Fixture f;
  f.control->fail_start = true;
  f.service->create(Fixture::create_request("c1"));
  EXPECT_EQ(code_of([&] { f.service->start(Fixture::with_id<task::StartRequest>("c1")); }),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(f.service->state(Fixture::with_id<task::StateRequest>("c1")).status(),
            ::containerd::v1::types::STOPPED);
  f.service->remove(Fixture::with_id<task::DeleteRequest>("c1"));
}

TEST(TaskService, ShutdownNowAlwaysEnds) {
  Fixture f;
  f.service->create(Fixture::create_request("c1"));
  task::ShutdownRequest now;
  now.set_now(true);
  f.service->shutdown(now);
  f.service->shutdown(now);
  EXPECT_EQ(f.shutdowns, 1);
}

TEST(TaskService, ServesBothServiceNamesOverTtrpc) {
  Fixture f;
  wasmshim::testing::TempDir dir;
  ttrpc::Server server;
  f.service->register_with(server);
  const std::string address = dir.socket();
  server.listen(address);
  auto client = ttrpc::Client::connect(address, 5s);
  for (const char* service : {"containerd.task.v2.Task", "containerd.task.v3.Task"}) {
    const std::string id = std::string("c-") + service[15];
    task::CreateTaskResponse created;
    ASSERT_TRUE(ttrpc::typed_call(*client, service, "Create", Fixture::create_request(id), created)
                    .is_ok());
    task::StartResponse started;
    ASSERT_TRUE(ttrpc::typed_call(*client, service, "Start",
                                  Fixture::with_id<task::StartRequest>(id), started)
                    .is_ok());
    EXPECT_EQ(started.pid(), 4242u);
    f.control->finish(7);
    task::WaitResponse waited;
    ASSERT_TRUE(
        ttrpc::typed_call(*client, service, "Wait", Fixture::with_id<task::WaitRequest>(id), waited)
            .is_ok());
    EXPECT_EQ(waited.exit_status(), 7u);
    task::DeleteResponse deleted;
    ASSERT_TRUE(ttrpc::typed_call(*client, service, "Delete",
                                  Fixture::with_id<task::DeleteRequest>(id), deleted)
                    .is_ok());
    {
      std::lock_guard lock(f.control->mutex);
      f.control->exit_code.reset();
    }
    auto exec = client->call(service, "Exec", "", {});
    EXPECT_EQ(exec.status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(exec.status.message().find("exec id"), std::string::npos);
    auto garbage = client->call(service, "Create", "\xff\xff\xff", {});
    EXPECT_EQ(garbage.status.code(), StatusCode::kInvalidArgument);
  }
  server.shutdown(1s);
}

// Stats answers in the types containerd's clients decode by name.
TEST(TaskService, StatsAreCgroupMetricsOfTheMachinesVersion) {
  Fixture f;
  f.service->create(Fixture::create_request("c1"));
  container::CgroupStats v1;
  v1.version = 1;
  v1.memory_usage = 4096;
  v1.memory_limit = 1 << 20;
  v1.memory_stat = {{"total_cache", 7}, {"total_pgpgin", 9}, {"rss", 11}};
  v1.cpu_usage_ns = 1234;
  v1.pids_current = 2;
  v1.pids_limit = 8;
  f.control->stats = v1;
  auto response = f.service->stats(Fixture::with_id<task::StatsRequest>("c1"));
  EXPECT_EQ(response.stats().type_url(), "io.containerd.cgroups.v1.Metrics");
  io::containerd::cgroups::v1::Metrics metrics;
  ASSERT_TRUE(metrics.ParseFromString(response.stats().value()));
  EXPECT_EQ(metrics.memory().usage().usage(), 4096u);
  EXPECT_EQ(metrics.memory().usage().limit(), 1u << 20);
  EXPECT_EQ(metrics.memory().total_cache(), 7u);
  EXPECT_EQ(metrics.memory().total_pg_pg_in(), 9u);
  EXPECT_EQ(metrics.memory().rss(), 11u);
  EXPECT_EQ(metrics.cpu().usage().total(), 1234u);
  EXPECT_EQ(metrics.pids().limit(), 8u);
  container::CgroupStats v2;
  v2.version = 2;
  v2.memory_usage = 5000;
  v2.memory_stat = {{"anon", 3}, {"file", 4}};
  v2.cpu_usage_ns = 2'000'000;
  v2.oom_kills = 1;
  f.control->stats = v2;
  response = f.service->stats(Fixture::with_id<task::StatsRequest>("c1"));
  EXPECT_EQ(response.stats().type_url(), "io.containerd.cgroups.v2.Metrics");
  io::containerd::cgroups::v2::Metrics metrics2;
  ASSERT_TRUE(metrics2.ParseFromString(response.stats().value()));
  EXPECT_EQ(metrics2.memory().usage(), 5000u);
  EXPECT_EQ(metrics2.memory().file(), 4u);
  EXPECT_EQ(metrics2.cpu().usage_usec(), 2000u);
  EXPECT_EQ(metrics2.memory_events().oom_kill(), 1u);
  f.control->finish(0);
}

TEST(TaskService, AnOomKillIsPublishedBeforeTheExit) {
  Fixture f;
  f.service->create(Fixture::create_request("c1"));
  f.service->start(Fixture::with_id<task::StartRequest>("c1"));
  f.control->oom = true;
  f.control->finish(137);
  f.service->wait(Fixture::with_id<task::WaitRequest>("c1"));
  const auto topics = f.events.topics();
  auto oom = std::find(topics.begin(), topics.end(), "/tasks/oom");
  auto exit = std::find(topics.begin(), topics.end(), "/tasks/exit");
  ASSERT_NE(oom, topics.end());
  EXPECT_LT(oom, exit);
}

}  // namespace
}  // namespace wasmshim::shim
