#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

namespace faultline::bench {
namespace {

// Plain atomics so the signal handler can read them.
std::array<std::atomic<pid_t>, 64> g_children{};

void Register(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
  ::kill(pid, SIGKILL);
  Die("too many child processes");
}

void Unregister(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

// Async-signal-safe: kill and waitpid only.
void KillAll() {
  for (auto& slot : g_children) {
    const pid_t pid = slot.exchange(0);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
}

void OnSignal(int signal_number) {
  KillAll();
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

}  // namespace

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + ::strsignal(WTERMSIG(status));
  return "stopped";
}

void Die(const std::string& message) {
  // exit() from two threads at once runs the exit handlers twice: the first caller ends the
  // process, any other waits here for it.
  static std::mutex dying;
  dying.lock();
  std::cerr << "faultline-bench: " << message << std::endl;
  std::exit(3);
}

void InstallChildCleanup() {
  std::atexit(KillAll);
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signal_number, &action, nullptr);
}

Child Child::Spawn(const std::vector<std::string>& argv, std::string name) {
  // Unlinked at once: the output stays readable through our descriptor and leaves no file.
  char path[] = "/tmp/faultline-bench-XXXXXX";
  Fd log(::mkostemp(path, O_CLOEXEC));
  if (!log.valid()) Die(std::string("mkostemp: ") + std::strerror(errno));
  ::unlink(path);

  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) Die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::dup2(log.get(), STDOUT_FILENO);
    ::dup2(log.get(), STDERR_FILENO);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  Register(pid);
  return Child(pid, std::move(log), std::move(name));
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      log_(std::move(other.log_)),
      name_(std::move(other.name_)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    Stop();
    pid_ = std::exchange(other.pid_, -1);
    log_ = std::move(other.log_);
    name_ = std::move(other.name_);
  }
  return *this;
}

std::string Child::Log() const {
  std::string text;
  char buffer[4096];
  for (off_t offset = 0;;) {
    const ssize_t n = ::pread(log_.get(), buffer, sizeof buffer, offset);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
  return text;
}

std::string Child::WaitForLine(std::string_view marker, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string log = Log();
    if (const auto at = log.find(marker); at != std::string::npos) {
      const auto begin = log.rfind('\n', at);
      const auto end = log.find('\n', at);
      return log.substr(begin == std::string::npos ? 0 : begin + 1,
                        end == std::string::npos ? std::string::npos : end - begin - 1);
    }
    CheckRunning();
    if (std::chrono::steady_clock::now() > deadline) {
      Die(name_ + " did not print '" + std::string(marker) + "' within " +
          std::to_string(timeout.count()) + " ms; its output:\n" + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Child::CheckRunning() {
  int status = 0;
  if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
    Unregister(pid_);
    pid_ = -1;
    Die(name_ + " " + DescribeStatus(status) + "; its output:\n" + Log());
  }
}

int Child::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Unregister(pid_);
  pid_ = -1;
  return status;
}

long ReadRssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  Die("cannot read VmRSS of process " + std::to_string(pid));
}

}  // namespace faultline::bench
