// Task.Exec and the exec_id of every other call: a process exec'd into a
// running task is started, signalled, waited for, inspected and deleted on
// its own, with its own events, and goes when its task's process goes.
#include <gtest/gtest.h>

#include <csignal>

#include "task_service_fixture.h"

namespace wasmshim::shim {
namespace {

task::ExecProcessRequest exec_request(const std::string& id, const std::string& exec_id) {
  task::ExecProcessRequest request;
  request.set_id(id);
  request.set_exec_id(exec_id);
  request.set_stdout("/run/fifo/exec-stdout");
  request.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  request.mutable_spec()->set_value(R"({"args":["/tool","probe"],"cwd":"/"})");
  return request;
}

template <class R>
R with_exec(const std::string& id, const std::string& exec_id) {
  R request;
  request.set_id(id);
  request.set_exec_id(exec_id);
  return request;
}

struct ExecFixture : Fixture {
  std::shared_ptr<ProcessControl> exec_control = std::make_shared<ProcessControl>();
  ExecFixture() {
    control->exec = exec_control;
    service->create(create_request("c1"));
    service->start(with_id<task::StartRequest>("c1"));
  }
};

TEST(TaskExec, AnExecLivesItsOwnLifeBesideItsTask) {
  ExecFixture f;
  f.service->exec(exec_request("c1", "probe"));
  ASSERT_EQ(f.control->exec_configs.size(), 1u);
  EXPECT_EQ(f.control->exec_configs[0].exec_id, "probe");
  EXPECT_EQ(f.control->exec_configs[0].process_json, R"({"args":["/tool","probe"],"cwd":"/"})");
  EXPECT_EQ(f.control->exec_configs[0].stdout_path, "/run/fifo/exec-stdout");
  auto state = f.service->state(with_exec<task::StateRequest>("c1", "probe"));
  EXPECT_EQ(state.status(), ::containerd::v1::types::CREATED);
  EXPECT_EQ(state.exec_id(), "probe");
  EXPECT_EQ(state.stdout(), "/run/fifo/exec-stdout");

  EXPECT_EQ(f.service->start(with_exec<task::StartRequest>("c1", "probe")).pid(), 4343u);
  auto pids = f.service->pids(Fixture::with_id<task::PidsRequest>("c1"));
  ASSERT_EQ(pids.processes_size(), 2);
  EXPECT_EQ(pids.processes(1).pid(), 4343u);

  f.exec_control->finish(3);
  auto waited = f.service->wait(with_exec<task::WaitRequest>("c1", "probe"));
  EXPECT_EQ(waited.exit_status(), 3u);
  EXPECT_EQ(f.events.exit_ids(), std::vector<std::string>{"probe"});
  state = f.service->state(with_exec<task::StateRequest>("c1", "probe"));
  EXPECT_EQ(state.status(), ::containerd::v1::types::STOPPED);
  EXPECT_EQ(state.exit_status(), 3u);
  // The task itself still runs.
  state = f.service->state(Fixture::with_id<task::StateRequest>("c1"));
  EXPECT_EQ(state.status(), ::containerd::v1::types::RUNNING);

  auto deleted = f.service->remove(with_exec<task::DeleteRequest>("c1", "probe"));
  EXPECT_EQ(deleted.exit_status(), 3u);
  EXPECT_EQ(deleted.pid(), 4343u);
  EXPECT_TRUE(f.exec_control->removed);
  EXPECT_EQ(code_of([&] { f.service->state(with_exec<task::StateRequest>("c1", "probe")); }),
            StatusCode::kNotFound);
  // containerd's runc shim sends no TaskDelete for an exec: only its task's.
  EXPECT_EQ(f.events.topics(),
            (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exec-added",
                                      "/tasks/exec-started", "/tasks/exit"}));
}

TEST(TaskExec, KillSignalsTheExecNotItsTask) {
  ExecFixture f;
  f.service->exec(exec_request("c1", "e1"));
  f.service->start(with_exec<task::StartRequest>("c1", "e1"));
  auto kill = with_exec<task::KillRequest>("c1", "e1");
  kill.set_signal(SIGTERM);
  f.service->kill(kill);
  EXPECT_EQ(f.service->wait(with_exec<task::WaitRequest>("c1", "e1")).exit_status(),
            128u + SIGTERM);
  std::lock_guard lock(f.control->mutex);
  EXPECT_TRUE(f.control->signals.empty());
}

TEST(TaskExec, ExecsAreKilledWhenTheTasksProcessExits) {
  ExecFixture f;
  f.service->exec(exec_request("c1", "e1"));
  f.service->start(with_exec<task::StartRequest>("c1", "e1"));
  f.control->finish(0);
  EXPECT_EQ(f.service->wait(with_exec<task::WaitRequest>("c1", "e1")).exit_status(),
            128u + SIGKILL);
  f.service->wait(Fixture::with_id<task::WaitRequest>("c1"));
  // The exec's exit is announced before its task's, as runc's shim does.
  EXPECT_EQ(f.events.exit_ids(), (std::vector<std::string>{"e1", "c1"}));
  // Deleting the task releases its execs with it.
  f.service->remove(Fixture::with_id<task::DeleteRequest>("c1"));
  EXPECT_TRUE(f.exec_control->removed);
  EXPECT_EQ(f.service->task_count(), 0u);
}

TEST(TaskExec, WhatCannotBeExecdIsRefused) {
  ExecFixture f;
  EXPECT_EQ(code_of([&] { f.service->exec(exec_request("c1", "")); }),
            StatusCode::kInvalidArgument);
  auto terminal = exec_request("c1", "tty");
  terminal.set_terminal(true);
  EXPECT_EQ(code_of([&] { f.service->exec(terminal); }), StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { f.service->exec(exec_request("nope", "e1")); }), StatusCode::kNotFound);
  f.service->exec(exec_request("c1", "e1"));
  EXPECT_EQ(code_of([&] { f.service->exec(exec_request("c1", "e1")); }),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(code_of([&] { f.service->start(with_exec<task::StartRequest>("c1", "e2")); }),
            StatusCode::kNotFound);
  // Not running any more: nothing to exec into, nor to start an exec in.
  f.control->finish(0);
  f.service->wait(Fixture::with_id<task::WaitRequest>("c1"));
  EXPECT_EQ(code_of([&] { f.service->exec(exec_request("c1", "late")); }),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(code_of([&] { f.service->start(with_exec<task::StartRequest>("c1", "e1")); }),
            StatusCode::kFailedPrecondition);
}

TEST(TaskExec, ARunningExecCannotBeDeleted) {
  ExecFixture f;
  f.service->exec(exec_request("c1", "e1"));
  f.service->start(with_exec<task::StartRequest>("c1", "e1"));
  EXPECT_EQ(code_of([&] { f.service->remove(with_exec<task::DeleteRequest>("c1", "e1")); }),
            StatusCode::kFailedPrecondition);
  f.exec_control->finish(0);
  f.service->wait(with_exec<task::WaitRequest>("c1", "e1"));
  EXPECT_EQ(f.service->remove(with_exec<task::DeleteRequest>("c1", "e1")).exit_status(), 0u);
}

// Kill with `all` goes to every process of the container (the Instance's
// kill_all: its cgroup), not only to its own process.
TEST(TaskExec, KillWithAllSignalsTheWholeContainer) {
  ExecFixture f;
  auto kill = Fixture::with_id<task::KillRequest>("c1");
  kill.set_signal(SIGKILL);
  kill.set_all(true);
  f.service->kill(kill);
  f.service->wait(Fixture::with_id<task::WaitRequest>("c1"));
  std::lock_guard lock(f.control->mutex);
  EXPECT_TRUE(f.control->killed_all);
}

TEST(TaskExec, AnInstanceWithoutExecsAnswersUnimplemented) {
  Fixture f;
  f.service->create(Fixture::create_request("c1"));
  f.service->start(Fixture::with_id<task::StartRequest>("c1"));
  EXPECT_EQ(code_of([&] { f.service->exec(exec_request("c1", "e1")); }),
            StatusCode::kUnimplemented);
  f.control->finish(0);
}

TEST(TaskExec, AnExecThatFailsToStartIsStoppedAndSaysWhy) {
  ExecFixture f;
  f.exec_control->fail_start = true;
  f.service->exec(exec_request("c1", "e1"));
  EXPECT_EQ(code_of([&] { f.service->start(with_exec<task::StartRequest>("c1", "e1")); }),
            StatusCode::kFailedPrecondition);
  auto state = f.service->state(with_exec<task::StateRequest>("c1", "e1"));
  EXPECT_EQ(state.status(), ::containerd::v1::types::STOPPED);
  f.service->remove(with_exec<task::DeleteRequest>("c1", "e1"));
  f.control->finish(0);
}

}  // namespace
}  // namespace wasmshim::shim
