/* A native program for containers in the CRI tests: one binary, static, with
 * the few behaviours the tests check from outside (output, exit codes,
 * signals, memory).
 *
 *   native_tool echo ARGS...    prints ARGS with spaces between, exit 0
 *   native_tool exit N          exits with status N
 *   native_tool sleep SECONDS   says it sleeps, sleeps; on SIGTERM says so and exits 0
 *   native_tool alloc MIB       allocates and touches MIB MiB, then sleeps
 *   native_tool lines N         prints "line 1" .. "line N", exit 0
 *   native_tool env NAME        prints $NAME (exit 1 when it is not set)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t terminated = 0;

static void on_sigterm(int signal_number) {
  (void)signal_number;
  terminated = 1;
}

static const char usage_text[] =
    "usage: native_tool echo ARGS... | exit N | sleep SECONDS | alloc MIB | lines N | env NAME\n";

/* A non-negative decimal number, or -1. */
static long parse_count(const char* text) {
  char* end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0) {
    return -1;
  }
  return value;
}

static int echo_command(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    printf(i == 0 ? "%s" : " %s", argv[i]);
  }
  printf("\n");
  return 0;
}

static int sleep_command(long seconds) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_sigterm;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, NULL); /* no SA_RESTART: nanosleep returns */
  /* Said once the handler is in place: as a pid namespace's first process
   * the tool ignores a SIGTERM that comes before, and a test that stops it
   * waits for this line first. */
  printf("native_tool: sleeping\n");
  fflush(stdout);
  struct timespec left = {seconds, 0};
  while (!terminated && nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
  if (terminated) {
    printf("native_tool: got SIGTERM, exiting\n");
  }
  return 0;
}

/* Touches every page so the memory is charged to the container's cgroup,
 * which is what an OOM test needs; then waits to be killed or stopped. */
static int alloc_command(long mebibytes) {
  const size_t chunk = 1024 * 1024;
  for (long i = 0; i < mebibytes; ++i) {
    char* block = malloc(chunk);
    if (block == NULL) {
      fprintf(stderr, "native_tool: malloc failed after %ld MiB\n", i);
      return 1;
    }
    memset(block, 1, chunk);
  }
  printf("allocated %ld MiB\n", mebibytes);
  return sleep_command(1000000);
}

static int lines_command(long count) {
  for (long i = 1; i <= count; ++i) {
    printf("line %ld\n", i);
  }
  return 0;
}

static int env_command(const char* name) {
  const char* value = getenv(name);
  if (value == NULL) {
    fprintf(stderr, "native_tool: %s is not set\n", name);
    return 1;
  }
  printf("%s\n", value);
  return 0;
}

int main(int argc, char** argv) {
  /* Line by line, so a log shows each line as it is printed. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "native_tool: no command\n%s", usage_text);
    return 1;
  }
  const char* command = argv[1];
  if (strcmp(command, "echo") == 0) {
    return echo_command(argc - 2, argv + 2);
  }
  if (strcmp(command, "env") == 0 && argc == 3) {
    return env_command(argv[2]);
  }
  long number = argc == 3 ? parse_count(argv[2]) : -1;
  if (strcmp(command, "exit") == 0 && number >= 0) {
    return (int)(number & 0xff);
  }
  if (strcmp(command, "sleep") == 0 && number >= 0) {
    return sleep_command(number);
  }
  if (strcmp(command, "alloc") == 0 && number >= 0) {
    return alloc_command(number);
  }
  if (strcmp(command, "lines") == 0 && number >= 0) {
    return lines_command(number);
  }
  fprintf(stderr, "native_tool: unknown command or bad arguments: %s\n%s", command, usage_text);
  return 1;
}
