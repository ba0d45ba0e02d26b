/* The process that holds a CRI pod sandbox's namespaces open, as Kubernetes'
 * pause image does: it waits in pause(), reaps any child that is re-parented
 * to it (it is pid 1 of the pod's pid namespace when the pod shares one) and
 * exits 0 when told to stop. Built static so the image needs no libc. */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int signal_number) {
  (void)signal_number;
  _exit(0);
}

static void reap_children(int signal_number) {
  (void)signal_number;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static void handle(int signal_number, void (*handler)(int), int flags) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  if (sigaction(signal_number, &action, NULL) != 0) {
    perror("pause: sigaction");
    _exit(1);
  }
}

int main(void) {
  handle(SIGINT, stop, 0);
  handle(SIGTERM, stop, 0);
  handle(SIGCHLD, reap_children, SA_NOCLDSTOP | SA_RESTART);
  for (;;) {
    pause();
  }
}
