#pragma once
// Process: one supervised child of the runner (a service, a workload client, a probe).
//
//   auto store = Process::Start({.name = "store", .argv = {"./kvstore", "--port", "4100"},
//                                .log_path = "runs/x/logs/store.log"}, &reaper);
//   if (!store) return store.error();
//   ...
//   const int code = store->Stop(std::chrono::seconds(5));
//
// Guarantees:
// - Start reports a program it cannot find, a working directory or a log file it cannot use,
//   as an error, rather than starting a child that exits 127. Nothing here throws.
// - Every child leads a process group of its own, and every signal (pause, resume, stop,
//   kill) goes to the whole group: what a service forks is paused and stopped with it.
// - The group lives as long as its leader. Once the leader has exited, whatever is left of its
//   group is killed before the leader is reaped; after that its id may be reused, so the group
//   is never signalled again.
// - A child gets SIGKILL when the thread that started it exits (PR_SET_PDEATHSIG). With a
//   Reaper, what the child forked goes too, even when the runner is killed with SIGKILL.
// - A Process going out of scope stops its group (Stop with kDefaultGrace): no child is left
//   running or stopped.
// - Children start with default signal handling and an empty signal mask, whatever the runner
//   ignores or blocks, with stdin on /dev/null and no descriptor of the runner's but their
//   output files.
//
// Start children from a thread that lives as long as they should (the runner's main thread):
// the death signal is tied to the thread that forked, not to the runner. One thread at a time
// drives a Process, and nothing else in the runner may reap its children (no waitpid(-1)).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "faultline/core/duration.h"
#include "faultline/core/result.h"
#include "faultline/experiments/reaper.h"

namespace faultline::experiments {

// A file descriptor, closed when its owner goes.
class Descriptor {
 public:
  Descriptor() = default;
  explicit Descriptor(int fd) : fd_(fd) {}
  Descriptor(Descriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Descriptor& operator=(Descriptor&& other) noexcept;
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor();

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Every member has an initializer so that designated initializers may leave any out.
struct ProcessSpec {
  std::string name{};               // in messages: "store: ..."
  std::vector<std::string> argv{};  // argv[0] without a '/' is looked up in PATH
  // Added to the runner's environment, replacing a variable of the same name.
  std::vector<std::pair<std::string, std::string>> env{};
  std::string cwd{};       // empty: the runner's
  std::string log_path{};  // stdout and stderr are appended here; empty: discarded
  // When set, stdout alone goes into a pipe (a client's history, read as it is written:
  // Process::TakeStdout) and stderr to log_path. The pipe holds 1 MiB where the system allows.
  bool stdout_pipe = false;
};

class Process {
 public:
  static constexpr core::Duration kDefaultGrace = std::chrono::seconds(2);

  // Registers the child's group with `reaper` when one is given.
  static core::Result<Process> Start(const ProcessSpec& spec, Reaper* reaper = nullptr);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;  // stops what this one ran first
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  const std::string& name() const { return name_; }
  // The child's pid, which is also its process group id.
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // Where this child's output starts in log_path: logs are appended to across restarts.
  std::uint64_t log_start() const { return log_start_; }
  // The read end of the child's stdout pipe (ProcessSpec::stdout_pipe), non-blocking; it
  // reads to the end once every writer has closed it. Empty the second time, or without one.
  Descriptor TakeStdout() { return std::move(stdout_); }
  // The reaper the child is registered with (null if none), for children started on its
  // behalf.
  Reaper* reaper() const { return reaper_; }

  // Neither of these blocks; both reap the child once it has exited.
  bool Running();
  // The exit code once the child has exited, 128 + the signal when a signal ended it.
  std::optional<int> ExitCode();

  // SIGSTOP / SIGCONT to the group. Errors when the child has exited.
  core::Status Pause();
  core::Status Resume();
  // SIGKILL to the group, then SIGCONT so that nothing stays stopped. Does not wait: Wait,
  // Running or ExitCode collect the exit. Errors when the child had already exited.
  core::Status Kill();
  // SIGTERM to the group (continued if paused); after `grace`, SIGKILL. Always reaps the
  // leader before returning its exit code (at once if it had already exited). The other
  // processes of the group are not the runner's children: they are gone moments later,
  // collected by whoever their parent is.
  int Stop(core::Duration grace);
  // Waits up to `timeout` for the child to exit; its exit code, or nothing if it still runs.
  std::optional<int> Wait(core::Duration timeout);

 private:
  Process() = default;
  // Reaps the leader if it has exited, killing the rest of its group first.
  void Collect();
  void Release() noexcept;

  std::string name_;
  std::string log_path_;
  std::uint64_t log_start_ = 0;
  pid_t pid_ = -1;
  int pidfd_ = -1;  // readable once the child has exited
  Reaper* reaper_ = nullptr;
  std::optional<int> exit_code_;
  Descriptor stdout_;
};

}  // namespace faultline::experiments
