/* inject_loop write|clock N: makes N write(2)s of one byte to /dev/null, or N
 * clock_gettime(CLOCK_REALTIME) calls, and prints the nanoseconds per call. The loop is what
 * the shim's fast path is measured on; the timing itself bypasses libc.
 *
 * inject_loop watch: prints "ready", then reads CLOCK_REALTIME until a rule skews it by more
 * than 30 minutes, and prints the kernel's CLOCK_MONOTONIC (ns) at that moment: how soon a
 * rule set from outside takes effect. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long kernel_realtime_ns(void) {
  struct timespec ts;
  syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int watch(void) {
  const long long far = 30LL * 60 * 1000000000LL;
  struct timespec ts;
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    clock_gettime(CLOCK_REALTIME, &ts);
    const long long seen = ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (llabs(seen - kernel_realtime_ns()) > far) break;
  }
  printf("%lld\n", now_ns());
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "watch") == 0) return watch();
  if (argc != 3) {
    fprintf(stderr, "usage: inject_loop write|clock N | inject_loop watch\n");
    return 2;
  }
  const long n = atol(argv[2]);
  const int fd = open("/dev/null", O_WRONLY);
  struct timespec ts;
  const long long start = now_ns();
  if (strcmp(argv[1], "write") == 0) {
    for (long i = 0; i < n; ++i) {
      if (write(fd, "x", 1) != 1) return 3;
    }
  } else {
    for (long i = 0; i < n; ++i) clock_gettime(CLOCK_REALTIME, &ts);
  }
  printf("%.3f\n", (double)(now_ns() - start) / (double)n);
  return 0;
}
