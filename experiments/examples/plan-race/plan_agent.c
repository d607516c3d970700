/* plan_agent DIR [--fixed]: applies plans. It polls DIR/plans for *.plan files; for each new
 * one it decides to apply it, reaches the point "plan.apply" (where a slow agent is slow),
 * then reads the plan and records what it applied in DIR/applied.log.
 *
 * The race: the buggy agent decides on the plan's name and opens it only after the point, so
 * a housekeeper that deletes the plan in between leaves it applying a plan that is gone
 * ("FAILED" in the log). With --fixed the agent opens the plan first and reads it through
 * that descriptor: a deletion after the decision can no longer take it away. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "faultline/point.h"

static volatile sig_atomic_t stopping;
static void on_term(int signal) {
  (void)signal;
  stopping = 1;
}

static void record(const char* dir, const char* line) {
  char path[4096];
  snprintf(path, sizeof path, "%s/applied.log", dir);
  FILE* log = fopen(path, "a");
  if (log == NULL) return;
  fprintf(log, "%s\n", line);
  fclose(log);
}

static void apply(const char* dir, const char* name, int fixed) {
  char path[4096];
  char line[4096];
  char content[256] = "";
  snprintf(path, sizeof path, "%s/plans/%s", dir, name);
  int fd = fixed ? open(path, O_RDONLY) : -1;
  if (fixed && fd < 0) return; /* gone before we decided: nothing was promised */
  faultline_point("plan.apply");
  if (!fixed) fd = open(path, O_RDONLY);
  if (fd < 0) {
    snprintf(line, sizeof line, "FAILED %s: %s", name, strerror(errno));
    fprintf(stderr, "agent: %s\n", line);
    record(dir, line);
    return;
  }
  ssize_t n = read(fd, content, sizeof content - 1);
  close(fd);
  content[n > 0 ? n : 0] = '\0';
  content[strcspn(content, "\n")] = '\0';
  snprintf(line, sizeof line, "applied %s: %s", name, content);
  record(dir, line);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: plan_agent DIR [--fixed]\n");
    return 2;
  }
  const char* dir = argv[1];
  const int fixed = argc > 2 && strcmp(argv[2], "--fixed") == 0;
  signal(SIGTERM, on_term);
  char seen[1024][64];
  int seen_count = 0;
  char plans[4096];
  snprintf(plans, sizeof plans, "%s/plans", dir);
  printf("agent watching %s%s\n", plans, fixed ? " (fixed)" : "");
  fflush(stdout);
  while (!stopping) {
    DIR* listing = opendir(plans);
    struct dirent* entry;
    while (listing != NULL && (entry = readdir(listing)) != NULL) {
      const char* name = entry->d_name;
      if (strstr(name, ".plan") == NULL) continue;
      int known = 0;
      for (int i = 0; i < seen_count && !known; ++i) known = strcmp(seen[i], name) == 0;
      if (known || seen_count == 1024) continue;
      snprintf(seen[seen_count++], sizeof seen[0], "%.63s", name);
      apply(dir, name, fixed);
    }
    if (listing != NULL) closedir(listing);
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  return 0;
}
