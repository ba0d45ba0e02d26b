// The Task service holds a task's output fifos from Create until the
// process's exit is known, so that containerd's reader, however late it
// gets going, finds a writer and reads to the end: a fifo read with no
// writer left says end of file, one with a writer waits for data.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "support/temp_dir.h"
#include "task_service.h"
#include "task_service_fixture.h"

namespace wasmshim::shim {
namespace {

// A fifo as containerd makes one for a task's stdout, and its read end
// opened without waiting for a writer.
class OutputFifo {
 public:
  OutputFifo() {
    EXPECT_EQ(::mkfifo(path().c_str(), 0600), 0);
    reader_.reset(::open(path().c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    EXPECT_TRUE(reader_.valid());
  }
  std::string path() const { return (dir_.path() / "stdout").string(); }
  // Whether a writer still holds the fifo: a read then finds no data yet
  // (EAGAIN) rather than the end of file (0).
  bool held() const {
    char byte = 0;
    const ssize_t n = ::read(reader_.get(), &byte, 1);
    return n < 0 && errno == EAGAIN;
  }

 private:
  wasmshim::testing::TempDir dir_;
  base::UniqueFd reader_;
};

task::CreateTaskRequest writing_to(const OutputFifo& fifo) {
  auto request = Fixture::create_request("c1");
  request.set_stdout(fifo.path());
  return request;
}

TEST(TaskOutput, HeldFromCreateUntilTheExitIsAnnounced) {
  Fixture f;
  OutputFifo fifo;
  ASSERT_FALSE(fifo.held());  // nobody writes yet
  f.service->create(writing_to(fifo));
  EXPECT_TRUE(fifo.held()) << "a reader opening after Create would wait for a writer";
  f.service->start(Fixture::with_id<task::StartRequest>("c1"));
  EXPECT_TRUE(fifo.held());
  f.control->finish(0);
  f.service->wait(Fixture::with_id<task::WaitRequest>("c1"));
  EXPECT_FALSE(fifo.held()) << "the reader never sees the end of the output";
  f.service->remove(Fixture::with_id<task::DeleteRequest>("c1"));
}

// containerd waits for the output's end before it sends Delete: a task
// that never ran must let go too.
TEST(TaskOutput, LetGoWhenStartFailsOrTheTaskIsKilledBeforeIt) {
  {
    Fixture f;
    OutputFifo fifo;
    f.control->fail_start = true;
    f.service->create(writing_to(fifo));
    EXPECT_NE(code_of([&] { f.service->start(Fixture::with_id<task::StartRequest>("c1")); }),
              StatusCode::kOk);
    EXPECT_FALSE(fifo.held());
    f.service->remove(Fixture::with_id<task::DeleteRequest>("c1"));
  }
  {
    Fixture f;
    OutputFifo fifo;
    f.service->create(writing_to(fifo));
    task::KillRequest kill = Fixture::with_id<task::KillRequest>("c1");
    kill.set_signal(9);
    f.service->kill(kill);
    EXPECT_FALSE(fifo.held());
    f.service->remove(Fixture::with_id<task::DeleteRequest>("c1"));
  }
}

TEST(TaskOutput, OnlyFifosAreHeld) {
  Fixture f;
  wasmshim::testing::TempDir dir;
  const std::string file = (dir.path() / "stdout.log").string();
  auto request = Fixture::create_request("c1");
  request.set_stdout(file);
  f.service->create(request);
  struct stat info {};
  EXPECT_NE(::stat(file.c_str(), &info), 0) << "Create made a file at the stdout path";
  f.service->remove(Fixture::with_id<task::DeleteRequest>("c1"));
}

}  // namespace
}  // namespace wasmshim::shim
