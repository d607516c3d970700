/* call_probe SYMBOL DIR: makes one call to the libc symbol SYMBOL (with DIR for its files)
 * and prints "ok VALUE" or "err ERRNO". The injector's tests run it with and without a rule
 * on that call. Built without _FORTIFY_SOURCE so it can call every variant by name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "faultline/point.h"

ssize_t __read_chk(int, void*, size_t, size_t);
ssize_t __recv_chk(int, void*, size_t, size_t, int);
ssize_t __recvfrom_chk(int, void*, size_t, size_t, int, struct sockaddr*, socklen_t*);
ssize_t __pread_chk(int, void*, size_t, off_t, size_t);
ssize_t __pread64_chk(int, void*, size_t, off64_t, size_t);
int __open_2(const char*, int);
int __open64_2(const char*, int);
int __openat_2(int, const char*, int);
int __openat64_2(int, const char*, int);

static char dir[512];
static char path_a[600];
static char path_b[600];
static char data[64] = "0123456789";
static char buffer[64];

static int report(long result) {
  if (result < 0) {
    printf("err %d\n", errno);
  } else {
    printf("ok %ld\n", result);
  }
  return 0;
}

/* Set-up goes straight to the kernel, so a rule on the probed call cannot touch it. */
static long raw_write(int fd, const void* bytes, size_t n) {
  return syscall(SYS_write, fd, bytes, n);
}

/* A file with ten bytes in it, opened read-write. */
static int file_fd(void) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path_a, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || raw_write(fd, data, 10) != 10 || lseek(fd, 0, SEEK_SET) != 0) exit(3);
  return fd;
}

/* A connected stream pair with ten bytes waiting on pair[1]. */
static void stream_pair(int pair[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) exit(3);
  if (raw_write(pair[0], data, 10) != 10) exit(3);
}

/* A loopback listener; its address goes in *address. */
static int listener(struct sockaddr_in* address) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(address, 0, sizeof *address);
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof *address;
  if (bind(fd, (struct sockaddr*)address, length) != 0 || listen(fd, 4) != 0 ||
      getsockname(fd, (struct sockaddr*)address, &length) != 0) {
    exit(3);
  }
  return fd;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: call_probe SYMBOL DIR\n");
    return 2;
  }
  const char* s = argv[1];
  snprintf(dir, sizeof dir, "%s", argv[2]);
  snprintf(path_a, sizeof path_a, "%s/a", dir);
  snprintf(path_b, sizeof path_b, "%s/b", dir);
  int pair[2];
  struct iovec iov = {buffer, 10};
  struct msghdr message = {0};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;

  if (!strcmp(s, "connect")) {
    struct sockaddr_in address;
    listener(&address);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    return report(connect(fd, (struct sockaddr*)&address, sizeof address));
  }
  if (!strcmp(s, "accept") || !strcmp(s, "accept4")) {
    struct sockaddr_in address;
    int l = listener(&address);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr*)&address, sizeof address) != 0) return 3;
    long r = !strcmp(s, "accept") ? accept(l, NULL, NULL) : accept4(l, NULL, NULL, SOCK_CLOEXEC);
    return report(r < 0 ? r : 0);
  }
  if (!strcmp(s, "send")) {
    stream_pair(pair);
    return report(send(pair[0], data, 10, 0));
  }
  if (!strcmp(s, "sendto")) {
    stream_pair(pair);
    return report(sendto(pair[0], data, 10, 0, NULL, 0));
  }
  if (!strcmp(s, "sendmsg")) {
    stream_pair(pair);
    iov.iov_base = data;
    return report(sendmsg(pair[0], &message, 0));
  }
  if (!strcmp(s, "recv")) return stream_pair(pair), report(recv(pair[1], buffer, 10, 0));
  if (!strcmp(s, "__recv_chk")) {
    return stream_pair(pair), report(__recv_chk(pair[1], buffer, 10, sizeof buffer, 0));
  }
  if (!strcmp(s, "recvfrom")) {
    return stream_pair(pair), report(recvfrom(pair[1], buffer, 10, 0, NULL, NULL));
  }
  if (!strcmp(s, "__recvfrom_chk")) {
    stream_pair(pair);
    return report(__recvfrom_chk(pair[1], buffer, 10, sizeof buffer, 0, NULL, NULL));
  }
  if (!strcmp(s, "recvmsg")) return stream_pair(pair), report(recvmsg(pair[1], &message, 0));
  if (!strcmp(s, "read")) return report(read(file_fd(), buffer, 10));
  if (!strcmp(s, "__read_chk")) return report(__read_chk(file_fd(), buffer, 10, sizeof buffer));
  if (!strcmp(s, "write")) return report(write(file_fd(), data, 10));
  if (!strcmp(s, "readv")) return report(readv(file_fd(), &iov, 1));
  if (!strcmp(s, "writev")) return iov.iov_base = data, report(writev(file_fd(), &iov, 1));
  if (!strcmp(s, "pread")) return report(pread(file_fd(), buffer, 10, 0));
  if (!strcmp(s, "pread64")) return report(pread64(file_fd(), buffer, 10, 0));
  if (!strcmp(s, "__pread_chk")) {
    return report(__pread_chk(file_fd(), buffer, 10, 0, sizeof buffer));
  }
  if (!strcmp(s, "__pread64_chk")) {
    return report(__pread64_chk(file_fd(), buffer, 10, 0, sizeof buffer));
  }
  if (!strcmp(s, "pwrite")) return report(pwrite(file_fd(), data, 10, 0));
  if (!strcmp(s, "pwrite64")) return report(pwrite64(file_fd(), data, 10, 0));
  if (!strcmp(s, "open")) return report(open(path_a, O_RDWR | O_CREAT, 0600) < 0 ? -1 : 0);
  if (!strcmp(s, "open64")) return report(open64(path_a, O_RDWR | O_CREAT, 0600) < 0 ? -1 : 0);
  if (!strcmp(s, "__open_2")) return report(__open_2(dir, O_RDONLY) < 0 ? -1 : 0);
  if (!strcmp(s, "__open64_2")) return report(__open64_2(dir, O_RDONLY) < 0 ? -1 : 0);
  if (!strcmp(s, "openat")) {
    return report(openat(AT_FDCWD, path_a, O_RDWR | O_CREAT, 0600) < 0 ? -1 : 0);
  }
  if (!strcmp(s, "openat64")) {
    return report(openat64(AT_FDCWD, path_a, O_RDWR | O_CREAT, 0600) < 0 ? -1 : 0);
  }
  if (!strcmp(s, "__openat_2")) return report(__openat_2(AT_FDCWD, dir, O_RDONLY) < 0 ? -1 : 0);
  if (!strcmp(s, "__openat64_2")) {
    return report(__openat64_2(AT_FDCWD, dir, O_RDONLY) < 0 ? -1 : 0);
  }
  if (!strcmp(s, "creat")) return report(creat(path_a, 0600) < 0 ? -1 : 0);
  if (!strcmp(s, "creat64")) return report(creat64(path_a, 0600) < 0 ? -1 : 0);
  if (!strcmp(s, "close")) return report(close(file_fd()));
  if (!strcmp(s, "rename")) return close(file_fd()), report(rename(path_a, path_b));
  if (!strcmp(s, "renameat")) {
    return close(file_fd()), report(renameat(AT_FDCWD, path_a, AT_FDCWD, path_b));
  }
  if (!strcmp(s, "unlink")) return close(file_fd()), report(unlink(path_a));
  if (!strcmp(s, "unlinkat")) return close(file_fd()), report(unlinkat(AT_FDCWD, path_a, 0));
  if (!strcmp(s, "fsync")) return report(fsync(file_fd()));
  if (!strcmp(s, "fdatasync")) return report(fdatasync(file_fd()));
  if (!strcmp(s, "clock_gettime")) {
    struct timespec ts;
    return report(clock_gettime(CLOCK_REALTIME, &ts));
  }
  if (!strcmp(s, "gettimeofday")) {
    struct timeval tv;
    return report(gettimeofday(&tv, NULL));
  }
  if (!strcmp(s, "time")) {
    time_t t = time(NULL);
    return report(t == (time_t)-1 ? -1 : 0);
  }
  if (!strcmp(s, "nanosleep")) {
    struct timespec ts = {0, 1};
    return report(nanosleep(&ts, NULL));
  }
  if (!strcmp(s, "clock_nanosleep")) {
    struct timespec ts = {0, 1};
    int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    if (r != 0) errno = r;
    return report(r != 0 ? -1 : 0);
  }
  if (!strcmp(s, "faultline_point")) {
    int r = faultline_point("probe");
    if (r != 0) errno = r;
    return report(r != 0 ? -1 : 0);
  }
  fprintf(stderr, "call_probe: unknown symbol %s\n", s);
  return 2;
}
