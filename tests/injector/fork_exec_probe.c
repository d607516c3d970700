/* fork_exec_probe: a multithreaded program that forks and execs `date +%s` twice, once with
 * execve and once with posix_spawn, both times with an EMPTY environment, while four threads
 * keep reading the clock. Under the shim, the rules must reach the exec'd programs anyway. */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;

static void* spin(void* unused) {
  (void)unused;
  struct timespec ts;
  while (!atomic_load(&stop)) clock_gettime(CLOCK_REALTIME, &ts);
  return NULL;
}

int main(void) {
  pthread_t threads[4];
  for (int i = 0; i < 4; ++i) pthread_create(&threads[i], NULL, spin, NULL);
  char* argv[] = {"date", "+%s", NULL};
  char* empty[] = {NULL};
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    execve("/bin/date", argv, empty);
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  pid_t spawned = 0;
  if (posix_spawn(&spawned, "/bin/date", NULL, NULL, argv, empty) != 0) return 3;
  waitpid(spawned, &status, 0);
  atomic_store(&stop, 1);
  for (int i = 0; i < 4; ++i) pthread_join(threads[i], NULL);
  return 0;
}
