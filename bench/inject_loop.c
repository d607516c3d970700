/* inject_loop write|clock N: makes N write(2)s of one byte to /dev/null, or N
 * clock_gettime(CLOCK_REALTIME) calls, and prints the nanoseconds per call. The loop is what
 * the shim's fast path is measured on; the timing itself bypasses libc. */
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

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: inject_loop write|clock N\n");
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
