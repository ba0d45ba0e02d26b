#include "wasmshim/ttrpc/unix_socket.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "support/thread_waits.h"
#include "test_util.h"

namespace wasmshim::ttrpc {
namespace {

using testing::TempDir;

TEST(SocketAddress, Forms) {
  EXPECT_EQ(parse_socket_address("unix:///run/a.sock").path, "/run/a.sock");
  EXPECT_EQ(parse_socket_address("/run/a.sock").path, "/run/a.sock");
  EXPECT_FALSE(parse_socket_address("/run/a.sock").abstract);
  EXPECT_TRUE(parse_socket_address("@shim").abstract);
  EXPECT_TRUE(parse_socket_address("unix://@shim").abstract);
}

TEST(SocketAddress, RejectsBadAddresses) {
  EXPECT_THROW(parse_socket_address(""), std::invalid_argument);
  EXPECT_THROW(parse_socket_address("unix://"), std::invalid_argument);
  EXPECT_THROW(parse_socket_address("tcp://127.0.0.1:1"), std::invalid_argument);
  EXPECT_THROW(parse_socket_address("/" + std::string(200, 'a')), std::invalid_argument);
  EXPECT_THROW(parse_socket_address(std::string("/a\0b", 4)), std::invalid_argument);
}

TEST(ListenUnix, ReplacesAStaleSocketButNotALiveOne) {
  TempDir dir;
  std::string path = dir.socket();
  {
    UniqueFd first = listen_unix(path);
    try {
      listen_unix(path);
      FAIL() << "a second listener took a live socket";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EADDRINUSE);
    }
  }
  // The first listener is gone but its file stays: a new listener may take it.
  UniqueFd again = listen_unix(path);
  EXPECT_TRUE(again.valid());
}

TEST(ListenUnix, RefusesToReplaceARegularFile) {
  TempDir dir;
  std::string path = dir.socket("file");
  std::ofstream(path) << "data";
  EXPECT_THROW(listen_unix(path), std::system_error);
}

TEST(ListenUnix, FdsAreCloseOnExec) {
  TempDir dir;
  UniqueFd fd = listen_unix(dir.socket());
  EXPECT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(ConnectUnix, WaitsForTheServerToAppear) {
  TempDir dir;
  std::string path = dir.socket();
  const pid_t connecting = wasmshim::testing::current_thread_id();
  std::atomic<bool> retried{false};
  std::thread late([&] {
    // Listens only once the connect has found no socket and sleeps before
    // trying again (or a generous bound has passed, and the test fails).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!(retried = wasmshim::testing::in_sleep(connecting)) &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (!retried) {
      return;  // nobody would connect to a listener now
    }
    UniqueFd listener = listen_unix(path);
    UniqueFd accepted(::accept(listener.get(), nullptr, nullptr));
  });
  UniqueFd fd = connect_unix(path, std::chrono::seconds(60));
  EXPECT_TRUE(fd.valid());
  late.join();
  EXPECT_TRUE(retried) << "the connect never waited for the socket";
}

TEST(ConnectUnix, FailsWhenNothingListens) {
  TempDir dir;
  try {
    connect_unix(dir.socket(), std::chrono::milliseconds(0));
    FAIL() << "connected to nothing";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
  }
}

TEST(ConnectUnix, AbstractNamespace) {
  std::string name = "@wasmshim-test-" + std::to_string(::getpid());
  UniqueFd listener = listen_unix(name);
  UniqueFd client = connect_unix(name);
  EXPECT_TRUE(client.valid());
}

}  // namespace
}  // namespace wasmshim::ttrpc
