// WASI through real C programs (built with wasi-libc), in every tier.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/temp_dir.h"
#include "wasmshim/wasm/engine.h"

namespace wasmshim::wasm {
namespace {

namespace fs = std::filesystem;
using wasmshim::testing::TempDir;

struct Output {
  RunResult result;
  std::string out;
};

class WasiTest : public ::testing::TestWithParam<Tier> {
 protected:
  // One cache for the suite: each program is compiled once per tier.
  static TempDir& shared_cache() {
    static TempDir cache;
    return cache;
  }

  Output run_program(const std::string& path, std::vector<std::string> args,
                     const std::vector<Preopen>& preopens, const std::vector<std::string>& env = {},
                     int stdin_fd = 0) {
    EngineOptions options;
    options.tier = GetParam();
    options.cache_dir = shared_cache().path().string();
    Module module = Module::from_file(path);
    PreparedModule prepared = prepare(module, options);
    std::string out_path = (dir_.path() / "stdout").string();
    int out_fd = ::open(out_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    args.insert(args.begin(), fs::path(path).filename().string());
    WasiConfig config{args, env, preopens, stdin_fd, out_fd, 2};
    Output output{run(prepared, config, options), {}};
    ::close(out_fd);
    std::ifstream in(out_path);
    std::stringstream text;
    text << in.rdbuf();
    output.out = text.str();
    return output;
  }

  std::string probe() const { return std::string(WASM_TEST_PROGRAMS) + "/wasi_probe.wasm"; }
  std::string rights_probe() const { return std::string(WASM_TEST_PROGRAMS) + "/wasi_rights.wasm"; }

  TempDir dir_;
};

TEST_P(WasiTest, FilesDirectoriesAndLinks) {
  fs::create_directory(dir_.path() / "box");
  Output o = run_program(probe(), {"files", "/box"}, {{(dir_.path() / "box").string(), "/box"}});
  EXPECT_EQ(o.result.exit_code, 0);
  EXPECT_EQ(
      o.out,
      "mkdir: ok\nmkdir again: error File exists\nwrite: ok\nopen rw: ok\npread: ok\n"
      "pread data: wasi\n\npwrite: ok\nseek end: 11\ntell: 11\nftruncate: ok\nfstat: ok\n"
      "size: 5 regular: 1\nfsync: ok\nwrite other: ok\nrenumber: ok\nread renumbered: ok\n"
      "renumbered data: hello\nold number closed: error Bad file descriptor\nunlink other: ok\n"
      "read: ok\ndata: hello\nappend open: ok\nappend write: ok\nstat: ok\nsize after append: 6\n"
      "symlink: ok\nreadlink: ok\nlink target: a.txt\nlstat link: ok\nis link: 1\n"
      "stat through link: ok\nthrough link regular: 1\nhard link: ok\nrename: ok\n"
      "exclusive create of existing: error File exists\nentries: 3\n"
      "rmdir non-empty: error Directory not empty\nunlink a: ok\nunlink c: ok\nunlink link: ok\n"
      "unlink missing: error No such file or directory\nrmdir: ok\n"
      "open missing: error No such file or directory\n");
  EXPECT_TRUE(fs::is_empty(dir_.path() / "box"));
}

TEST_P(WasiTest, AdviceAllocationSyncFlagsTimesPollAndLongDirectories) {
  fs::create_directory(dir_.path() / "box");
  Output o = run_program(probe(), {"more", "/box"}, {{(dir_.path() / "box").string(), "/box"}});
  EXPECT_EQ(o.result.exit_code, 0);
  EXPECT_EQ(
      o.out,
      "write: ok\nopen: ok\nfadvise: ok\nfallocate: ok\nallocated size: 4096\nfdatasync: ok\n"
      "set append: ok\nappend flag: 1\nfutimens: ok\nmtime: 1200000000\nutimensat: ok\n"
      "atime: 1000000000\npoll ready: 1 readable: 1\nsched_yield: ok\nunlink: ok\n"
      "mkdir many: ok\nentries with dots: 122\nafter rewind: 122\nremoved while reading: 120\n"
      "rmdir many: ok\n");
  EXPECT_TRUE(fs::is_empty(dir_.path() / "box"));
}

TEST_P(WasiTest, SocketSendReceiveShutdown) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  std::string host_saw;
  std::thread host([&] {
    char buf[16] = {};
    ssize_t n = ::recv(pair[0], buf, sizeof buf, 0);
    host_saw.assign(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    ::send(pair[0], "pong", 4, MSG_NOSIGNAL);
    // The guest shuts its side for writing: we see end of stream, then close.
    host_saw += ::recv(pair[0], buf, sizeof buf, 0) == 0 ? " eof" : " no-eof";
    ::close(pair[0]);
  });
  Output o = run_program(probe(), {"socket"}, {}, {}, pair[1]);
  host.join();
  ::close(pair[1]);
  EXPECT_EQ(host_saw, "ping eof");
  EXPECT_EQ(o.out,
            "send: ok\nrecv: ok\nreceived: pong\nshutdown write: ok\nrecv after host closed: 0\n");
}

TEST_P(WasiTest, SocketAccept) {
  std::string path = dir_.socket("listen.sock");
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  std::string host_saw;
  std::thread host([&] {
    int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      char buf[16] = {};
      ssize_t n = ::recv(client, buf, sizeof buf, MSG_WAITALL);
      host_saw.assign(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    ::close(client);
  });
  Output o = run_program(probe(), {"accept"}, {}, {}, listener);
  host.join();
  ::close(listener);
  EXPECT_EQ(o.out, "accept: ok\nsend on accepted: ok\n");
  EXPECT_EQ(host_saw, "hello");
}

TEST_P(WasiTest, EscapeAttemptsAreRefused) {
  fs::path box = dir_.path() / "box";
  fs::create_directories(box / "inside");
  std::ofstream(dir_.path() / "outside.txt") << "secret\n";
  std::ofstream(box / "inside" / "ok.txt") << "ok\n";
  fs::create_symlink(dir_.path() / "outside.txt", box / "abs_link");
  fs::create_symlink("../outside.txt", box / "rel_link");
  fs::create_symlink("chain2", box / "chain1");
  fs::create_symlink("../outside.txt", box / "chain2");
  fs::create_symlink("inside/ok.txt", box / "good_link");
  fs::create_symlink("..", box / "dir_link");
  Output o = run_program(probe(), {"escape", "/box"}, {{box.string(), "/box"}});
  EXPECT_EQ(o.result.exit_code, 0);
  EXPECT_EQ(o.out,
            "dotdot: error Capabilities insufficient\n"
            "deep dotdot: error Capabilities insufficient\n"
            "absolute symlink: error Capabilities insufficient\n"
            "relative symlink out: error Capabilities insufficient\n"
            "symlink chain out: error Capabilities insufficient\n"
            "symlink inside: ok\n"
            "create through dotdot: error Capabilities insufficient\n"
            "mkdir through dotdot: error Capabilities insufficient\n"
            "unlink through symlinked dir: error Capabilities insufficient\n"
            "stat through chain: error Capabilities insufficient\n");
  EXPECT_TRUE(fs::exists(dir_.path() / "outside.txt"));
  EXPECT_FALSE(fs::exists(dir_.path() / "created.txt"));
  EXPECT_FALSE(fs::exists(dir_.path() / "made"));
}

// Rights as wasmtime gives them: a preopen holds the directory rights and
// hands down file rights; stdout may be written; a file holds what it was
// opened with; rights only narrow, and what they lack is refused.
TEST_P(WasiTest, RightsAreKeptReportedNarrowedAndEnforced) {
  fs::create_directory(dir_.path() / "box");
  Output o = run_program(rights_probe(), {"rights"}, {{(dir_.path() / "box").string(), "/box"}});
  EXPECT_EQ(o.result.exit_code, 0);
  EXPECT_EQ(o.out,
            "preopen: type 3 base 0x7b7fe00 inheriting 0xff7ffff\n"
            "stdout: type 4 base 0x40 inheriting 0x40\n"
            "open preopen with its own rights: ok\n"
            "reopened preopen: type 3 base 0x7b7fe00 inheriting 0xff7ffff\n"
            "open preopen read-write as directory: isdir\n"
            "create: ok\nwrite created: ok\n"
            "open read-only: ok\n"
            "read-only file: type 4 base 0x2 inheriting 0\n"
            "write read-only: notcapable\nread read-only: ok\n"
            "open seekable: ok\nseek: ok\nnarrow to read: ok\n"
            "narrowed: type 4 base 0x2 inheriting 0\n"
            "seek after narrowing: notcapable\ntell after narrowing: notcapable\n"
            "read after narrowing: ok\nwiden again: notcapable\n"
            "mkdir: ok\nopen dir without create right: ok\nmkdir without the right: notcapable\n"
            "drop path_open on a copy: ok\nnarrow dir: ok\n"
            "open after dropping path_open: notcapable\n");
  EXPECT_TRUE(fs::is_empty(dir_.path() / "box"));
}

// A directory has no offset: seeking it fails with BADF (as wasmtime),
// whence CUR included, and it never holds FD_SEEK even when asked for.
TEST_P(WasiTest, DirectoriesCannotSeek) {
  fs::create_directory(dir_.path() / "box");
  Output o = run_program(rights_probe(), {"seekdir"}, {{(dir_.path() / "box").string(), "/box"}});
  EXPECT_EQ(o.result.exit_code, 0);
  EXPECT_EQ(o.out,
            "seek preopen set: badf\nseek preopen cur: badf\ntell preopen: badf\nmkdir: ok\n"
            "open dir asking to seek: ok\nopened dir: type 3 base 0 inheriting 0\n"
            "seek dir set: badf\nseek dir cur: badf\nrmdir: ok\n");
}

// "name/" reaches the kernel as written; absolute symlink targets are
// refused with PERM and leave nothing behind (both as wasmtime).
TEST_P(WasiTest, TrailingSlashesAndAbsoluteSymlinks) {
  fs::create_directory(dir_.path() / "box");
  Output o = run_program(rights_probe(), {"slashes"}, {{(dir_.path() / "box").string(), "/box"}});
  EXPECT_EQ(o.result.exit_code, 0);
  EXPECT_EQ(o.out,
            "create file: ok\nmkdir: ok\nlink to name/: noent\nsymlink to name/: noent\n"
            "symlink to existing dir/: exist\nsymlink to existing file/: notdir\n"
            "unlink dir/: isdir\nunlink dir: isdir\nunlink file/: notdir\n"
            "mkdir made/: ok\nrmdir made/: ok\n"
            "symlink absolute: perm\nsymlink absolute file: perm\nabsolute link exists: noent\n"
            "symlink relative: ok\nunlink rel: ok\nrmdir sub: ok\nunlink f: ok\n");
  EXPECT_TRUE(fs::is_empty(dir_.path() / "box"));
}

TEST_P(WasiTest, RenameBetweenPreopensButNotOut) {
  fs::create_directory(dir_.path() / "a");
  fs::create_directory(dir_.path() / "b");
  Output o =
      run_program(probe(), {"rename", "/a", "/b"},
                  {{(dir_.path() / "a").string(), "/a"}, {(dir_.path() / "b").string(), "/b"}});
  EXPECT_EQ(o.out,
            "write in a: ok\nrename a to b: ok\nrename out of b: error Capabilities insufficient\n"
            "still in b: ok\n");
  EXPECT_TRUE(fs::exists(dir_.path() / "b" / "moved.txt"));
  EXPECT_FALSE(fs::exists(dir_.path() / "escaped.txt"));
}

TEST_P(WasiTest, ArgumentsAndEnvironment) {
  Output o = run_program(probe(), {"env", "x", "y z"}, {}, {"PROBE=yes"});
  EXPECT_EQ(o.out,
            "argc: 4\nargv[0]: wasi_probe.wasm\nargv[1]: env\nargv[2]: x\nargv[3]: y z\n"
            "PROBE: yes\nHOME: (unset)\n");
}

TEST_P(WasiTest, ClocksSleepAndRandomness) {
  Output o = run_program(probe(), {"time"}, {});
  EXPECT_EQ(o.out,
            "clock_getres: ok\nnanosleep: ok\nslept at least 20 ms: 1\nrealtime after 2020: 1\n"
            "random differs: 1\n");
}

TEST_P(WasiTest, DemoApp) {
  fs::create_directory(dir_.path() / "root");
  std::vector<Preopen> root = {{(dir_.path() / "root").string(), "/"}};
  Output echo = run_program(DEMO_WASM, {"echo", "hello", "world"}, root);
  EXPECT_EQ(echo.out, "hello world\n");
  EXPECT_EQ(echo.result.exit_code, 0);
  EXPECT_EQ(run_program(DEMO_WASM, {"exit", "3"}, root).result.exit_code, 3);
  EXPECT_EQ(
      run_program(DEMO_WASM, {"write", "/note.txt", "in", "the", "box"}, root).result.exit_code, 0);
  std::ifstream note(dir_.path() / "root" / "note.txt");
  std::string line;
  std::getline(note, line);
  EXPECT_EQ(line, "in the box");
  EXPECT_EQ(run_program(DEMO_WASM, {"read", "/note.txt"}, root).out, "in the box\n");
  EXPECT_EQ(run_program(DEMO_WASM, {"unknown"}, root).result.exit_code, 1);
  EXPECT_EQ(run_program(DEMO_WASM, {"sleep", "0"}, root).out, "slept 0\n");
}

INSTANTIATE_TEST_SUITE_P(Tiers, WasiTest, ::testing::Values(Tier::kJit, Tier::kAot),
                         [](const ::testing::TestParamInfo<Tier>& param_info) {
                           return to_string(param_info.param);
                         });

}  // namespace
}  // namespace wasmshim::wasm
