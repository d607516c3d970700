#pragma once
// Reaper: nothing the runner started outlives it, even when the runner is killed with SIGKILL.
//
// PR_SET_PDEATHSIG takes a service's leader down with the runner, but not what the leader
// forked. The reaper is a watchdog process, forked once when the runner starts, that knows
// every process group the runner has started. It holds one end of a socket pair whose other
// end only the runner has (close-on-exec, so no service inherits it). When its end reads EOF
// -- the runner is gone, however it died -- the watchdog sends SIGKILL, then SIGCONT, to every
// group still registered, so nothing stays behind and nothing stays stopped, removes every
// file still registered (the shim's rule tables), and exits.
//
// `faultline inject` starts one too, for its rule table alone.
//
// The watchdog has a process group of its own and ignores SIGINT, SIGTERM, SIGHUP and SIGQUIT:
// a Ctrl-C, or a signal sent to the runner's whole group, leaves it there to do its job. Its
// stdin, stdout and stderr are /dev/null and it keeps no other descriptor of the runner's.
//
// Start it first thing in main, before any thread exists: the watchdog is a fork of the
// runner that goes on running C++ code, which is only safe when the fork copied the one thread
// there was. Start fails if the runner already has other threads.
//
// A Reaper must outlive every Process registered with it. Destroying it ends the watchdog,
// which first kills whatever is still registered.

#include <sys/types.h>

#include <string>

#include "faultline/core/result.h"

namespace faultline::experiments {

class Reaper {
 public:
  static core::Result<Reaper> Start();

  Reaper(Reaper&& other) noexcept;
  Reaper& operator=(Reaper&& other) noexcept;
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;
  ~Reaper();

  // Adds a process group. Async-signal-safe: a service registers its own group between fork
  // and exec, so there is no moment at which the runner could die with the group unknown.
  // False when the watchdog is gone.
  bool Register(pid_t group) const noexcept;
  // Removes a group whose leader has been reaped (its id may be given to a new process).
  void Forget(pid_t group) const noexcept;
  // Has the watchdog remove the file at `path` when the runner ends. Call it before creating
  // the file, so that there is no moment at which it exists unknown to the watchdog. False
  // when the watchdog is gone (or the path is longer than PATH_MAX).
  bool RegisterFile(const std::string& path) const noexcept;
  // The runner has removed the file itself.
  void ForgetFile(const std::string& path) const noexcept;
  // Whether the watchdog is still there to take registrations.
  bool Alive() const noexcept;

  pid_t watchdog_pid() const { return watchdog_; }

 private:
  Reaper(int channel, pid_t watchdog) : channel_(channel), watchdog_(watchdog) {}
  void Close() noexcept;

  int channel_ = -1;  // the runner's end of the socket pair
  pid_t watchdog_ = -1;
};

}  // namespace faultline::experiments
