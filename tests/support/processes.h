#pragma once
// What tests see of processes: polling for a condition, and the members of a process group
// as /proc lists them.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace faultline::testing {

// Polls `condition` until it holds (true) or `timeout` runs out (false).
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

struct ProcStat {
  char state = '?';  // R, S, T (stopped), Z (zombie)...
  pid_t parent = 0;
  pid_t group = 0;
};

// From /proc/PID/stat; none when the process is gone.
std::optional<ProcStat> ReadStat(pid_t pid);

// Every process there is, with its state.
std::vector<std::pair<pid_t, ProcStat>> Processes();

// The live (not zombie) processes of a process group.
std::vector<pid_t> LiveMembers(pid_t group);

// No process of the group is alive: kill(2) finds none, or the ones it finds are zombies,
// already dead and waiting for their new parent (init, which can take seconds) to collect
// them.
bool GroupGone(pid_t group);

}  // namespace faultline::testing
