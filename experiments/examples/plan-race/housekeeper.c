/* housekeeper DIR MAX_AGE_MS: every 20 ms, deletes plans in DIR/plans older than MAX_AGE_MS.
 * Plans are meant to be applied quickly; a stale one is garbage. Nothing wrong with it on its
 * own: the race is with an agent that is slower than the housekeeper expects. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;
static void on_term(int signal) {
  (void)signal;
  stopping = 1;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: housekeeper DIR MAX_AGE_MS\n");
    return 2;
  }
  const long max_age_ms = atol(argv[2]);
  char plans[4096];
  snprintf(plans, sizeof plans, "%s/plans", argv[1]);
  signal(SIGTERM, on_term);
  printf("housekeeper cleaning %s every 20 ms (older than %ld ms)\n", plans, max_age_ms);
  fflush(stdout);
  while (!stopping) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    DIR* listing = opendir(plans);
    struct dirent* entry;
    while (listing != NULL && (entry = readdir(listing)) != NULL) {
      if (strstr(entry->d_name, ".plan") == NULL) continue;
      char path[8192];
      snprintf(path, sizeof path, "%s/%s", plans, entry->d_name);
      struct stat st;
      if (stat(path, &st) != 0) continue;
      const long age_ms =
          (now.tv_sec - st.st_mtim.tv_sec) * 1000 + (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
      if (age_ms > max_age_ms && unlink(path) == 0) printf("deleted %s\n", entry->d_name);
    }
    if (listing != NULL) closedir(listing);
    fflush(stdout);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  return 0;
}
