#include "small_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "support/temp_dir.h"

namespace wasmshim::shim {
namespace {

TEST(SmallFiles, WrittenTextComesBackAsItsFirstLine) {
  wasmshim::testing::TempDir dir;
  const std::string path = (dir.path() / "traceparent").string();
  ASSERT_TRUE(write_file(path, "00-aa-bb-01\nsecond line\n"));
  EXPECT_EQ(read_first_line(path), "00-aa-bb-01");
  // Replaced, not appended to.
  ASSERT_TRUE(write_file(path, "short"));
  EXPECT_EQ(read_first_line(path), "short");
}

TEST(SmallFiles, AMissingFileReadsEmptyAndAnUnwritablePathFails) {
  wasmshim::testing::TempDir dir;
  EXPECT_EQ(read_first_line((dir.path() / "absent").string()), "");
  EXPECT_FALSE(write_file((dir.path() / "no/such/dir/file").string(), "x"));
}

TEST(SmallFiles, WriteAllReportsAClosedReader) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_TRUE(write_all(fds[1], "through"));
  char got[8] = {};
  ASSERT_EQ(::read(fds[0], got, sizeof(got)), 7);
  EXPECT_EQ(std::string(got, 7), "through");
  ::close(fds[0]);
  ::signal(SIGPIPE, SIG_IGN);
  EXPECT_FALSE(write_all(fds[1], "nobody reads this"));
  ::close(fds[1]);
}

}  // namespace
}  // namespace wasmshim::shim
