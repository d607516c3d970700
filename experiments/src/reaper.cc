#include "faultline/experiments/reaper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <system_error>
#include <utility>

namespace faultline::experiments {
namespace {

// The signals that reach a whole foreground group from the terminal, or a whole group from
// `kill -- -PGID`: the runner handles them and the watchdog must outlive it.
constexpr int kIgnoredSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// Messages on the channel, one per packet. Four bytes: a positive group id registers it, a
// negated one forgets it. Longer: a FileMessage kind, then a path.
using Message = std::int32_t;
enum FileMessage : std::int32_t { kRegisterFile = 1, kForgetFile = 2 };

bool SendAll(int channel, const void* data, std::size_t size) noexcept {
  ssize_t n;
  do {
    n = ::send(channel, data, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(size);
}

bool SendFile(int channel, FileMessage kind, const std::string& path) noexcept {
  if (path.empty() || path.size() > PATH_MAX) return false;
  char packet[sizeof(Message) + PATH_MAX];
  const Message header = kind;
  std::memcpy(packet, &header, sizeof header);
  std::memcpy(packet + sizeof header, path.data(), path.size());
  return SendAll(channel, packet, sizeof header + path.size());
}

int ThreadCount() {
  std::error_code ec;
  int count = 0;
  for (std::filesystem::directory_iterator task("/proc/self/task", ec), end; !ec && task != end;
       task.increment(ec)) {
    ++count;
  }
  return count;
}

[[noreturn]] void RunWatchdog(int channel) {
  ::setpgid(0, 0);
  for (int signal : kIgnoredSignals) ::signal(signal, SIG_IGN);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::prctl(PR_SET_NAME, "faultline-reap");

  // Keep the channel, on fd 3, and /dev/null as stdio; close everything else of the runner's.
  const int kept = ::fcntl(channel, F_DUPFD, 3);
  const int null = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
  if (kept != 3) ::dup2(kept, 3);
  ::close_range(4, ~0U, 0);

  std::set<pid_t> groups;
  std::set<std::string> files;
  for (;;) {
    char packet[sizeof(Message) + PATH_MAX];
    const ssize_t n = ::recv(3, packet, sizeof packet, 0);
    if (n < 0 && errno == EINTR) continue;
    // EOF: every copy of the runner's end is closed, so the runner is gone. A broken channel
    // is treated the same way: the watchdog could no longer learn of new groups.
    if (n < static_cast<ssize_t>(sizeof(Message))) break;
    Message message = 0;
    std::memcpy(&message, packet, sizeof message);
    if (n == sizeof message) {
      if (message > 0) {
        groups.insert(message);
      } else {
        groups.erase(-message);
      }
      continue;
    }
    std::string path(packet + sizeof message, static_cast<std::size_t>(n) - sizeof message);
    if (message == kRegisterFile) {
      files.insert(std::move(path));
    } else if (message == kForgetFile) {
      files.erase(path);
    }
  }
  for (pid_t group : groups) {
    ::kill(-group, SIGKILL);
    ::kill(-group, SIGCONT);
  }
  // Each path was registered before the runner created the file under a name of its own
  // (its pid and a random suffix), so no other process's file can be there.
  for (const std::string& path : files) ::unlink(path.c_str());
  ::_exit(0);
}

}  // namespace

core::Result<Reaper> Reaper::Start() {
  if (const int threads = ThreadCount(); threads > 1) {
    return core::MakeError("the reaper must start before any thread does (this process has " +
                           std::to_string(threads) + " threads)");
  }
  // A socket pair rather than a pipe: a send with MSG_NOSIGNAL cannot raise SIGPIPE in a child
  // that registers itself after the watchdog is gone.
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) {
    return core::MakeError(std::string("cannot start the reaper: socketpair: ") +
                           std::strerror(errno));
  }
  // Held back until the watchdog ignores them, so that a Ctrl-C at this moment cannot end it
  // before it is set up; the runner gets them once the fork is done.
  sigset_t blocked, saved;
  ::sigemptyset(&blocked);
  for (int signal : kIgnoredSignals) ::sigaddset(&blocked, signal);
  ::sigprocmask(SIG_BLOCK, &blocked, &saved);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ends[1]);
    RunWatchdog(ends[0]);
  }
  const int fork_error = errno;
  ::sigprocmask(SIG_SETMASK, &saved, nullptr);
  ::close(ends[0]);
  if (pid < 0) {
    ::close(ends[1]);
    return core::MakeError(std::string("cannot start the reaper: fork: ") +
                           std::strerror(fork_error));
  }
  // The watchdog does this too; whichever runs first, its group exists before either goes on.
  ::setpgid(pid, pid);
  return Reaper(ends[1], pid);
}

Reaper::Reaper(Reaper&& other) noexcept
    : channel_(std::exchange(other.channel_, -1)), watchdog_(std::exchange(other.watchdog_, -1)) {}

Reaper& Reaper::operator=(Reaper&& other) noexcept {
  if (this != &other) {
    Close();
    channel_ = std::exchange(other.channel_, -1);
    watchdog_ = std::exchange(other.watchdog_, -1);
  }
  return *this;
}

Reaper::~Reaper() { Close(); }

void Reaper::Close() noexcept {
  if (channel_ >= 0) ::close(channel_);
  channel_ = -1;
  if (watchdog_ > 0) {
    while (::waitpid(watchdog_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  watchdog_ = -1;
}

bool Reaper::Register(pid_t group) const noexcept {
  const Message message = group;
  return SendAll(channel_, &message, sizeof message);
}

void Reaper::Forget(pid_t group) const noexcept {
  const Message message = -group;
  SendAll(channel_, &message, sizeof message);
}

bool Reaper::RegisterFile(const std::string& path) const noexcept {
  return SendFile(channel_, kRegisterFile, path);
}

void Reaper::ForgetFile(const std::string& path) const noexcept {
  SendFile(channel_, kForgetFile, path);
}

bool Reaper::Alive() const noexcept {
  pollfd channel{channel_, 0, 0};
  ::poll(&channel, 1, 0);
  return channel_ >= 0 && (channel.revents & (POLLHUP | POLLERR | POLLNVAL)) == 0;
}

}  // namespace faultline::experiments
