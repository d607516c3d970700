/* timing_probe MODE [ARG]: small programs whose timing the injector's tests check. What a
 * mode measures is taken straight from the kernel (raw syscalls), never through the shim.
 *
 *   watch           prints "ready", spins on clock_gettime(CLOCK_REALTIME) until it reads
 *                   more than 30 minutes away from the kernel's clock, then prints the
 *                   kernel's CLOCK_MONOTONIC at that moment (ns)
 *   rate MS         prints how far the program's CLOCK_REALTIME moved while the kernel's
 *                   moved MS milliseconds, as a ratio
 *   deadline MS     sleeps with clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME) until the
 *                   program's clock reads MS milliseconds later; prints the real ms slept
 *   lease DIR       fsyncs a file every 20 ms until one succeeds; prints how many failed
 *                   and the ms until the first success
 *   threads DIR     fsyncs once from a thread named "worker" and once from the main
 *                   thread; prints "worker ok|err ERRNO main ok|err ERRNO" */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long kernel_ns(clockid_t clock) {
  struct timespec ts;
  syscall(SYS_clock_gettime, clock, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long program_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void kernel_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  syscall(SYS_nanosleep, &ts, NULL);
}

static int open_file(const char* dir) {
  char path[600];
  snprintf(path, sizeof path, "%s/probe", dir);
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT, 0600);
  if (fd < 0) exit(3);
  return fd;
}

static int watch(void) {
  const long long far = 30LL * 60 * 1000000000LL;
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    const long long seen = program_ns(CLOCK_REALTIME);
    const long long now = kernel_ns(CLOCK_REALTIME);
    if (llabs(seen - now) > far) break;
  }
  printf("%lld\n", kernel_ns(CLOCK_MONOTONIC));
  return 0;
}

static int rate(long ms) {
  const long long program_start = program_ns(CLOCK_REALTIME);
  const long long kernel_start = kernel_ns(CLOCK_MONOTONIC);
  kernel_sleep_ms(ms);
  const long long program_moved = program_ns(CLOCK_REALTIME) - program_start;
  const long long kernel_moved = kernel_ns(CLOCK_MONOTONIC) - kernel_start;
  printf("%.4f\n", (double)program_moved / (double)kernel_moved);
  return 0;
}

static int deadline(long ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_nsec -= 1000000000L;
    ++until.tv_sec;
  }
  const long long start = kernel_ns(CLOCK_MONOTONIC);
  const int error = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL);
  if (error != 0) {
    printf("err %d\n", error);
    return 0;
  }
  printf("%lld\n", (kernel_ns(CLOCK_MONOTONIC) - start) / 1000000);
  return 0;
}

static int lease(const char* dir) {
  const int fd = open_file(dir);
  const long long start = kernel_ns(CLOCK_MONOTONIC);
  int failed = 0;
  while (fsync(fd) != 0) {
    ++failed;
    if (kernel_ns(CLOCK_MONOTONIC) - start > 30LL * 1000000000LL) return 4;
    kernel_sleep_ms(20);
  }
  printf("%d %lld\n", failed, (kernel_ns(CLOCK_MONOTONIC) - start) / 1000000);
  return 0;
}

static int sync_fd;

static void report(const char* who, int result) {
  if (result == 0) {
    printf("%s ok", who);
  } else {
    printf("%s err %d", who, errno);
  }
}

static void* worker(void* unused) {
  (void)unused;
  pthread_setname_np(pthread_self(), "worker");
  report("worker", fsync(sync_fd));
  return NULL;
}

static int threads(const char* dir) {
  sync_fd = open_file(dir);
  pthread_t thread;
  if (pthread_create(&thread, NULL, worker, NULL) != 0) return 3;
  pthread_join(thread, NULL);
  printf(" ");
  report("main", fsync(sync_fd));
  printf("\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "watch") == 0) return watch();
  if (argc == 3 && strcmp(argv[1], "rate") == 0) return rate(atol(argv[2]));
  if (argc == 3 && strcmp(argv[1], "deadline") == 0) return deadline(atol(argv[2]));
  if (argc == 3 && strcmp(argv[1], "lease") == 0) return lease(argv[2]);
  if (argc == 3 && strcmp(argv[1], "threads") == 0) return threads(argv[2]);
  fprintf(stderr, "usage: timing_probe watch | rate MS | deadline MS | lease DIR | threads DIR\n");
  return 2;
}
