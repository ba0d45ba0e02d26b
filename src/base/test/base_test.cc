#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "wasmshim/base/c_strings.h"
#include "wasmshim/base/fd_io.h"

namespace wasmshim::base {
namespace {

TEST(CStringArray, PointsAtEachStringThenNull) {
  const std::vector<std::string> args{"sh", "-c", ""};
  const std::vector<char*> array = c_string_array(args);
  ASSERT_EQ(array.size(), 4u);
  EXPECT_EQ(array[0], args[0].c_str());
  EXPECT_STREQ(array[1], "-c");
  EXPECT_STREQ(array[2], "");
  EXPECT_EQ(array[3], nullptr);
  EXPECT_EQ(c_string_array({}), std::vector<char*>{nullptr});
}

TEST(ReadAll, ReadsEverythingAWriterSendsInPieces) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string piece(100000, 'x');
  std::thread writer([&] {
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(::write(fds[1], piece.data(), piece.size()), static_cast<ssize_t>(piece.size()));
    }
    ::close(fds[1]);
  });
  const auto text = read_all(fds[0]);
  writer.join();
  ::close(fds[0]);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->size(), 3 * piece.size());
}

TEST(ReadAll, SaysWhenTheDescriptorCannotBeRead) {
  EXPECT_FALSE(read_all(-1));
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace wasmshim::base
