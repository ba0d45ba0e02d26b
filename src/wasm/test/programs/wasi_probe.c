// Exercises WASI through wasi-libc, one scenario per command, printing one
// "what: result" line per check so the host test can compare the output.
//   wasi_probe files DIR      files, directories, links, seek, stat, readdir
//   wasi_probe escape DIR     attempts to leave the preopen DIR
//   wasi_probe rename A B     rename between two preopens, and out of them
//   wasi_probe more DIR       advise, allocate, sync, flags, times, poll, long directories
//   wasi_probe socket         send, recv and shutdown on fd 0, a connected socket
//   wasi_probe accept         sock_accept on fd 0, a listening socket
//   wasi_probe env            arguments and environment
//   wasi_probe time           clocks, sleep, randomness
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static void report(const char* what, int rc) {
  if (rc < 0) {
    printf("%s: error %s\n", what, strerror(errno));
  } else {
    printf("%s: ok\n", what);
  }
}

static char* join(const char* dir, const char* name) {
  static char buffers[4][512];
  static int next;
  char* out = buffers[next++ % 4];
  snprintf(out, 512, "%s/%s", dir, name);
  return out;
}

static int write_file(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    return -1;
  }
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int files(const char* dir) {
  report("mkdir", mkdir(join(dir, "sub"), 0755));
  report("mkdir again", mkdir(join(dir, "sub"), 0755));
  report("write", write_file(join(dir, "sub/a.txt"), "hello wasi\n"));

  int fd = open(join(dir, "sub/a.txt"), O_RDWR);
  report("open rw", fd);
  char buf[64] = {0};
  report("pread", pread(fd, buf, 5, 6) == 5 ? 0 : -1);
  printf("pread data: %s\n", buf);
  report("pwrite", pwrite(fd, "W", 1, 6) == 1 ? 0 : -1);
  printf("seek end: %ld\n", (long)lseek(fd, 0, SEEK_END));
  printf("tell: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
  report("ftruncate", ftruncate(fd, 5));
  struct stat st;
  report("fstat", fstat(fd, &st));
  printf("size: %ld regular: %d\n", (long)st.st_size, S_ISREG(st.st_mode));
  report("fsync", fsync(fd));
  close(fd);

  // fd_renumber: the first file's descriptor replaces the second's.
  report("write other", write_file(join(dir, "sub/other.txt"), "other\n"));
  int first = open(join(dir, "sub/a.txt"), O_RDONLY);
  int second = open(join(dir, "sub/other.txt"), O_RDONLY);
  report("renumber", __wasi_fd_renumber((__wasi_fd_t)first, (__wasi_fd_t)second) == 0 ? 0 : -1);
  memset(buf, 0, sizeof buf);
  report("read renumbered", read(second, buf, 5) == 5 ? 0 : -1);
  printf("renumbered data: %s\n", buf);
  report("old number closed", read(first, buf, 1));
  close(second);
  report("unlink other", unlink(join(dir, "sub/other.txt")));

  fd = open(join(dir, "sub/a.txt"), O_RDONLY);
  memset(buf, 0, sizeof buf);
  report("read", read(fd, buf, sizeof buf - 1) >= 0 ? 0 : -1);
  printf("data: %s\n", buf);
  close(fd);

  report("append open", (fd = open(join(dir, "sub/a.txt"), O_WRONLY | O_APPEND)));
  report("append write", write(fd, "+", 1) == 1 ? 0 : -1);
  close(fd);
  report("stat", stat(join(dir, "sub/a.txt"), &st));
  printf("size after append: %ld\n", (long)st.st_size);

  report("symlink", symlink("a.txt", join(dir, "sub/link")));
  char target[64] = {0};
  report("readlink", readlink(join(dir, "sub/link"), target, sizeof target - 1) > 0 ? 0 : -1);
  printf("link target: %s\n", target);
  report("lstat link", lstat(join(dir, "sub/link"), &st));
  printf("is link: %d\n", S_ISLNK(st.st_mode));
  report("stat through link", stat(join(dir, "sub/link"), &st));
  printf("through link regular: %d\n", S_ISREG(st.st_mode));
  report("hard link", link(join(dir, "sub/a.txt"), join(dir, "sub/b.txt")));
  report("rename", rename(join(dir, "sub/b.txt"), join(dir, "sub/c.txt")));
  report("exclusive create of existing", open(join(dir, "sub/c.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644));

  DIR* d = opendir(join(dir, "sub"));
  int entries = 0;
  struct dirent* e;
  while (d && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      entries++;
    }
  }
  if (d) {
    closedir(d);
  }
  printf("entries: %d\n", entries);

  report("rmdir non-empty", rmdir(join(dir, "sub")));
  report("unlink a", unlink(join(dir, "sub/a.txt")));
  report("unlink c", unlink(join(dir, "sub/c.txt")));
  report("unlink link", unlink(join(dir, "sub/link")));
  report("unlink missing", unlink(join(dir, "sub/missing")));
  report("rmdir", rmdir(join(dir, "sub")));
  report("open missing", open(join(dir, "nothing"), O_RDONLY));
  return 0;
}

static int escape(const char* dir) {
  report("dotdot", open(join(dir, "../outside.txt"), O_RDONLY));
  report("deep dotdot", open(join(dir, "inside/../../outside.txt"), O_RDONLY));
  report("absolute symlink", open(join(dir, "abs_link"), O_RDONLY));
  report("relative symlink out", open(join(dir, "rel_link"), O_RDONLY));
  report("symlink chain out", open(join(dir, "chain1"), O_RDONLY));
  report("symlink inside", open(join(dir, "good_link"), O_RDONLY));
  report("create through dotdot", open(join(dir, "../created.txt"), O_WRONLY | O_CREAT, 0644));
  report("mkdir through dotdot", mkdir(join(dir, "inside/../../made"), 0755));
  report("unlink through symlinked dir", unlink(join(dir, "dir_link/outside.txt")));
  report("stat through chain", 0 + (access(join(dir, "chain1"), F_OK)));
  return 0;
}

static int do_rename(const char* a, const char* b) {
  report("write in a", write_file(join(a, "moving.txt"), "moving\n"));
  report("rename a to b", rename(join(a, "moving.txt"), join(b, "moved.txt")));
  report("rename out of b", rename(join(b, "moved.txt"), join(b, "../escaped.txt")));
  report("still in b", access(join(b, "moved.txt"), F_OK));
  return 0;
}

static int more(const char* dir) {
  const char* path = join(dir, "more.txt");
  report("write", write_file(path, "0123456789"));
  int fd = open(path, O_RDWR);
  report("open", fd);
  report("fadvise", posix_fadvise(fd, 0, 10, POSIX_FADV_SEQUENTIAL) == 0 ? 0 : -1);
  report("fallocate", posix_fallocate(fd, 0, 4096) == 0 ? 0 : -1);
  struct stat st;
  fstat(fd, &st);
  printf("allocated size: %ld\n", (long)st.st_size);
  report("fdatasync", fdatasync(fd));
  report("set append", fcntl(fd, F_SETFL, O_APPEND));
  printf("append flag: %d\n", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
  struct timespec times[2] = {{1000000000, 0}, {1200000000, 500}};
  report("futimens", futimens(fd, times));
  fstat(fd, &st);
  printf("mtime: %ld\n", (long)st.st_mtim.tv_sec);
  report("utimensat", utimensat(AT_FDCWD, path, times, 0));
  stat(path, &st);
  printf("atime: %ld\n", (long)st.st_atim.tv_sec);
  struct pollfd p = {fd, POLLRDNORM, 0};
  int ready = poll(&p, 1, 1000);
  printf("poll ready: %d readable: %d\n", ready, (p.revents & POLLRDNORM) != 0);
  report("sched_yield", sched_yield());
  close(fd);
  report("unlink", unlink(path));

  report("mkdir many", mkdir(join(dir, "many"), 0755));
  char name[64];
  for (int i = 0; i < 120; i++) {
    snprintf(name, sizeof name, "many/entry-with-a-long-name-%03d", i);
    write_file(join(dir, name), "x");
  }
  DIR* d = opendir(join(dir, "many"));
  int count = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    count++;
  }
  printf("entries with dots: %d\n", count);
  rewinddir(d);
  count = 0;
  while ((e = readdir(d)) != NULL) {
    count++;
  }
  printf("after rewind: %d\n", count);
  closedir(d);
  // Deleting what it reads, as Rust's remove_dir_all does: a cookie must
  // still find the entries after the removed ones.
  d = opendir(join(dir, "many"));
  int removed = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') {
      snprintf(name, sizeof name, "many/%s", e->d_name);
      removed += unlink(join(dir, name)) == 0;
    }
  }
  closedir(d);
  printf("removed while reading: %d\n", removed);
  report("rmdir many", rmdir(join(dir, "many")));
  return 0;
}

// fd 0 is a connected stream socket the host talks on.
static int socket_talk(void) {
  report("send", send(0, "ping", 4, 0) == 4 ? 0 : -1);
  char buf[16] = {0};
  report("recv", recv(0, buf, sizeof buf - 1, 0) == 4 ? 0 : -1);
  printf("received: %s\n", buf);
  report("shutdown write", shutdown(0, SHUT_WR));
  printf("recv after host closed: %zd\n", recv(0, buf, sizeof buf, 0));
  return 0;
}

// fd 0 is a listening socket; the host connects once.
static int socket_accept(void) {
  __wasi_fd_t conn = 0;
  report("accept", __wasi_sock_accept(0, 0, &conn) == 0 ? 0 : -1);
  report("send on accepted", send((int)conn, "hello", 5, 0) == 5 ? 0 : -1);
  close((int)conn);
  return 0;
}

static int env(int argc, char** argv) {
  printf("argc: %d\n", argc);
  for (int i = 0; i < argc; i++) {
    printf("argv[%d]: %s\n", i, argv[i]);
  }
  const char* v = getenv("PROBE");
  printf("PROBE: %s\n", v ? v : "(unset)");
  printf("HOME: %s\n", getenv("HOME") ? getenv("HOME") : "(unset)");
  return 0;
}

static int times(void) {
  struct timespec a, b, res;
  clock_gettime(CLOCK_MONOTONIC, &a);
  report("clock_getres", clock_getres(CLOCK_MONOTONIC, &res));
  struct timespec nap = {0, 20 * 1000 * 1000};
  report("nanosleep", nanosleep(&nap, NULL));
  clock_gettime(CLOCK_MONOTONIC, &b);
  long elapsed_ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  printf("slept at least 20 ms: %d\n", elapsed_ms >= 20);
  struct timespec real;
  clock_gettime(CLOCK_REALTIME, &real);
  printf("realtime after 2020: %d\n", real.tv_sec > 1577836800);
  unsigned char r1[16] = {0}, r2[16] = {0};
  arc4random_buf(r1, sizeof r1);
  arc4random_buf(r2, sizeof r2);
  printf("random differs: %d\n", memcmp(r1, r2, sizeof r1) != 0);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "files") == 0) {
    return files(argv[2]);
  }
  if (argc >= 3 && strcmp(argv[1], "escape") == 0) {
    return escape(argv[2]);
  }
  if (argc >= 4 && strcmp(argv[1], "rename") == 0) {
    return do_rename(argv[2], argv[3]);
  }
  if (argc >= 3 && strcmp(argv[1], "more") == 0) {
    return more(argv[2]);
  }
  if (argc >= 2 && strcmp(argv[1], "socket") == 0) {
    return socket_talk();
  }
  if (argc >= 2 && strcmp(argv[1], "accept") == 0) {
    return socket_accept();
  }
  if (argc >= 2 && strcmp(argv[1], "env") == 0) {
    return env(argc, argv);
  }
  if (argc >= 2 && strcmp(argv[1], "time") == 0) {
    return times();
  }
  fprintf(stderr, "wasi_probe: unknown scenario\n");
  return 2;
}
