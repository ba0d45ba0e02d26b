#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>

#include "wasmshim/base/c_strings.h"
#include "wasmshim/base/fd_io.h"
#include "wasmshim/base/sha256.h"
#include "wasmshim/base/strings.h"

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

TEST(ReadFile, WriteFileThenReadFileGivesTheTextBack) {
  char dir_template[] = "/tmp/base_test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/file";
  ASSERT_TRUE(write_file(path, "first, and longer\n"));
  ASSERT_TRUE(write_file(path, "second\n"));  // replaces, no tail left
  EXPECT_EQ(read_file(path), "second\n");
  ::unlink(path.c_str());
  ::rmdir(dir_template);
}

TEST(ReadFile, SaysWhyAFileCannotBeRead) {
  EXPECT_FALSE(read_file("/nonexistent/file"));
  EXPECT_EQ(errno, ENOENT);
  EXPECT_FALSE(read_file("/"));  // a directory opens but cannot be read
  EXPECT_EQ(errno, EISDIR);
  EXPECT_FALSE(write_file("/nonexistent/file", "x"));
  EXPECT_EQ(errno, ENOENT);
}

TEST(Trim, RemovesTheGivenCharactersAtBothEndsOnly) {
  EXPECT_EQ(trim("  a b \t\n"), "a b");
  EXPECT_EQ(trim("\r\n"), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim("\t value \n", " \t"), "value \n");
}

TEST(Sha256, MatchesFips180Examples) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Given in pieces, the same digest as in one call.
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(Sha256().update(two_blocks.data(), 10).update(two_blocks.data() + 10, 46).hex(),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

}  // namespace
}  // namespace wasmshim::base
