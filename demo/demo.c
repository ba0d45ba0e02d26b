// The demo app: a small WASI command line program run as a container.
//   echo ARGS...        print the arguments, space separated
//   sleep SECONDS       sleep, then print "slept SECONDS"
//   exit CODE           exit with that status
//   write FILE TEXT...  write the text (space separated, newline ended) to FILE
//   read FILE           print FILE's contents
//   daemon              print a numbered line every second, forever
//   grow MIB            grow linear memory by MIB MiB, a MiB at a time, touching
//                       each page; print how far it got (exit 1 if not all)
// Anything else prints a message on stderr and exits 1.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int usage(const char* self) {
  fprintf(stderr, "usage: %s echo ARGS... | sleep SECONDS | exit CODE | write FILE TEXT... | read FILE | daemon | grow MIB\n",
          self);
  return 1;
}

static int cmd_echo(int argc, char** argv) {
  for (int i = 0; i < argc; i++) {
    printf("%s%s", i ? " " : "", argv[i]);
  }
  printf("\n");
  return 0;
}

static int parse_number(const char* text, long* out) {
  char* end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') {
    return -1;
  }
  *out = value;
  return 0;
}

static int cmd_sleep(const char* seconds_text) {
  long seconds = 0;
  if (parse_number(seconds_text, &seconds) != 0 || seconds < 0) {
    fprintf(stderr, "sleep: not a number of seconds: %s\n", seconds_text);
    return 1;
  }
  struct timespec ts = {.tv_sec = seconds, .tv_nsec = 0};
  nanosleep(&ts, NULL);
  printf("slept %ld\n", seconds);
  return 0;
}

static int cmd_exit(const char* code_text) {
  long code = 0;
  if (parse_number(code_text, &code) != 0) {
    fprintf(stderr, "exit: not a number: %s\n", code_text);
    return 1;
  }
  return (int)code;
}

static int cmd_write(const char* path, int argc, char** argv) {
  FILE* f = fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "write: %s: %s\n", path, strerror(errno));
    return 1;
  }
  for (int i = 0; i < argc; i++) {
    fprintf(f, "%s%s", i ? " " : "", argv[i]);
  }
  fprintf(f, "\n");
  if (fclose(f) != 0) {
    fprintf(stderr, "write: %s: %s\n", path, strerror(errno));
    return 1;
  }
  return 0;
}

static int cmd_read(const char* path) {
  FILE* f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "read: %s: %s\n", path, strerror(errno));
    return 1;
  }
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, f)) > 0) {
    fwrite(buffer, 1, n, stdout);
  }
  int failed = ferror(f);
  fclose(f);
  return failed ? 1 : 0;
}

#ifdef __wasm__
static int cmd_grow(const char* mib_text) {
  long mib = 0;
  if (parse_number(mib_text, &mib) != 0 || mib < 0) {
    fprintf(stderr, "grow: not a number of MiB: %s\n", mib_text);
    return 1;
  }
  const unsigned long pages_per_mib = 16;  // 64 KiB Wasm pages
  for (long got = 0; got < mib; got++) {
    long before = (long)__builtin_wasm_memory_grow(0, pages_per_mib);
    if (before < 0) {
      printf("memory.grow failed after %ld MiB\n", got);
      return 1;
    }
    // Touch every page so the host really commits it.
    char* start = (char*)(before * 65536L);
    for (unsigned long page = 0; page < pages_per_mib; page++) {
      start[page * 65536] = 1;
    }
  }
  printf("grew %ld MiB\n", mib);
  return 0;
}
#else
// Built natively (the peer runtime's image in bench/stress): no linear memory.
static int cmd_grow(const char* mib_text) {
  fprintf(stderr, "grow %s: only the Wasm build grows linear memory\n", mib_text);
  return 1;
}
#endif

static int cmd_daemon(void) {
  for (unsigned long tick = 1;; tick++) {
    printf("daemon tick %lu\n", tick);
    fflush(stdout);
    sleep(1);
  }
}

int main(int argc, char** argv) {
  const char* self = argc > 0 ? argv[0] : "demo";
  if (argc < 2) {
    return usage(self);
  }
  const char* command = argv[1];
  if (strcmp(command, "echo") == 0) {
    return cmd_echo(argc - 2, argv + 2);
  }
  if (strcmp(command, "sleep") == 0 && argc == 3) {
    return cmd_sleep(argv[2]);
  }
  if (strcmp(command, "exit") == 0 && argc == 3) {
    return cmd_exit(argv[2]);
  }
  if (strcmp(command, "write") == 0 && argc >= 3) {
    return cmd_write(argv[2], argc - 3, argv + 3);
  }
  if (strcmp(command, "read") == 0 && argc == 3) {
    return cmd_read(argv[2]);
  }
  if (strcmp(command, "grow") == 0 && argc == 3) {
    return cmd_grow(argv[2]);
  }
  if (strcmp(command, "daemon") == 0 && argc == 2) {
    return cmd_daemon();
  }
  fprintf(stderr, "%s: unknown command or wrong arguments: %s\n", self, command);
  return usage(self);
}
