#pragma once
// Child processes of the benchmark (echo servers, faultline, HAProxy). None may outlive it:
// each child asks the kernel for SIGKILL when the benchmark dies (PR_SET_PDEATHSIG), and a
// registry kills whatever still runs on exit, on a fatal error and on SIGINT/SIGTERM/SIGHUP.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "net.h"

namespace faultline::bench {

// Prints "faultline-bench: message" and exits with 3; the registry kills every child.
[[noreturn]] void Die(const std::string& message);

// Installs the exit hook and signal handlers that kill registered children.
void InstallChildCleanup();

class Child {
 public:
  // Runs argv[0] with stdout and stderr captured in an anonymous temporary file. `name`
  // labels it in messages.
  static Child Spawn(const std::vector<std::string>& argv, std::string name);

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { Stop(); }

  pid_t pid() const { return pid_; }
  std::string Log() const;
  // The first output line containing `marker`; dies if the child exits or the time runs out.
  std::string WaitForLine(std::string_view marker, std::chrono::milliseconds timeout);
  // Dies, showing the child's output, if it has exited.
  void CheckRunning();
  // SIGTERM, SIGKILL if it lingers past `grace`, then reaps it. Returns its wait status, or
  // -1 if it was not running.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(3));

 private:
  Child(pid_t pid, Fd log, std::string name) : pid_(pid), log_(std::move(log)), name_(name) {}

  pid_t pid_ = -1;
  Fd log_;
  std::string name_;
};

// "exited with status N", "killed by Segmentation fault": a wait status in words.
std::string DescribeStatus(int status);

// Resident set size of a process in KiB, from /proc/PID/status.
long ReadRssKib(pid_t pid);

}  // namespace faultline::bench
