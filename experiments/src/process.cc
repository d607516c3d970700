#include "faultline/experiments/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Boost.Process v2 is compiled into this file and used nowhere else. Boost 1.81's header-only
// mode leaves process_environment::on_setup undefined, hence separate compilation (src.hpp
// below); std::filesystem spares linking Boost.Filesystem.
#define BOOST_PROCESS_V2_SEPARATE_COMPILATION
#define BOOST_PROCESS_USE_STD_FS
// With BOOST_PROCESS_USE_STD_FS, Boost 1.81's headers use these without including them.
#include <boost/optional.hpp>
#include <boost/type_traits/remove_pointer.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/process/v2.hpp>
#include <boost/process/v2/src.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <filesystem>
#include <utility>

namespace faultline::experiments {
namespace {

namespace bp = boost::process::v2;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Environment = std::vector<bp::environment::key_value_pair>;

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Signals a group and continues it, as a shell does for a stopped job: the signal is pending
// when the group wakes, so a paused group acts on it first, and nothing stays stopped.
void SignalAndContinue(pid_t group, int signal) {
  ::kill(-group, signal);
  ::kill(-group, SIGCONT);
}

// Room for a client's burst of operations while the runner is busy elsewhere: a client
// blocks on a full pipe, so the default 64 KiB would pace a fast one.
constexpr int kStdoutPipeBytes = 1 << 20;

// A pipe for a child's stdout: the read end non-blocking, both close-on-exec (the launcher
// makes the child's stdout a copy of the write end, without the flag).
core::Status OpenStdoutPipe(Descriptor& read_end, Descriptor& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return core::MakeError(std::string("cannot make a pipe for stdout: ") + std::strerror(errno));
  }
  read_end = Descriptor(fds[0]);
  write_end = Descriptor(fds[1]);
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  ::fcntl(fds[0], F_SETPIPE_SZ, kStdoutPipeBytes);  // best effort: the default still works
  return core::Ok();
}

// Opens `path` for appending (the null device when empty), creating its parent directories.
core::Result<Descriptor> OpenOutput(const std::string& path) {
  const std::string target = path.empty() ? "/dev/null" : path;
  std::error_code ec;
  if (const fs::path parent = fs::path(target).parent_path(); !parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec) return core::MakeError("cannot create " + parent.string() + ": " + ec.message());
  }
  Descriptor fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd.get() < 0) return core::MakeError("cannot open " + target + ": " + std::strerror(errno));
  return fd;
}

// The runner's environment with the spec's variables added or replaced.
Environment ChildEnvironment(const ProcessSpec& spec) {
  Environment env;
  for (const auto variable : bp::environment::current()) {
    const std::string key = variable.key().string();
    const bool replaced = std::any_of(spec.env.begin(), spec.env.end(),
                                      [&](const auto& entry) { return entry.first == key; });
    if (!replaced) env.emplace_back(variable);
  }
  for (const auto& [key, value] : spec.env) env.emplace_back(key, value);
  return env;
}

// The program execve will run: argv[0] found in the child's PATH, or as given.
core::Result<fs::path> FindProgram(const ProcessSpec& spec, const Environment& env) {
  const std::string& program = spec.argv.front();
  if (program.find('/') == std::string::npos) {
    const fs::path found = bp::environment::find_executable(program, env);
    if (found.empty()) return core::MakeError("program '" + program + "' not found in PATH");
    // Absolute, because the child changes directory before it runs the program.
    return fs::absolute(found);
  }
  // A relative path starts in the child's working directory, as it will for execve.
  fs::path path = program;
  if (path.is_relative() && !spec.cwd.empty()) path = fs::path(spec.cwd) / path;
  std::error_code ec;
  if (::access(path.c_str(), X_OK) != 0) {
    return core::MakeError("cannot run " + program + ": " + std::strerror(errno));
  }
  if (fs::is_directory(path, ec)) return core::MakeError("cannot run " + program + ": a directory");
  return fs::path(program);
}

// Closes every descriptor above stderr except those in `keep` (the launcher's error pipe);
// Boost 1.81's own pass leaves open every descriptor below the highest one it keeps.
// Async-signal-safe: no allocation.
void CloseInheritedDescriptors(const std::vector<int>& keep) {
  unsigned int low = 3;
  for (;;) {
    unsigned int next_kept = UINT_MAX;
    for (int fd : keep) {
      if (fd >= 0 && static_cast<unsigned int>(fd) >= low) {
        next_kept = std::min(next_kept, static_cast<unsigned int>(fd));
      }
    }
    if (next_kept > low) ::close_range(low, next_kept - 1, 0);
    if (next_kept == UINT_MAX) return;
    low = next_kept + 1;
  }
}

// A service must not inherit what the runner ignores or blocks (SIGPIPE, a SIGTERM kept for a
// signalfd): Stop's SIGTERM has to reach it.
void ResetSignals() {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal = 1; signal < NSIG; ++signal) ::sigaction(signal, &default_action, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// A Boost.Process initializer: the child's side of supervision, run between fork and exec
// once stdio and the working directory are in place. Async-signal-safe calls only.
struct ChildSetup {
  pid_t parent;
  const Reaper* reaper;

  template <typename Launcher>
  bp::error_code on_exec_setup(Launcher& launcher, const fs::path&, const char* const*) {
    // The launcher reports errno to the parent when this fails.
    const auto failed = [] { return bp::error_code(errno, bp::system_category()); };
    if (::setpgid(0, 0) != 0) return failed();
    if (reaper != nullptr && !reaper->Register(::getpid())) return failed();
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return failed();
    // If the runner died before the death signal was armed, nothing will deliver it.
    if (::getppid() != parent) ::_exit(127);
    ResetSignals();
    CloseInheritedDescriptors(launcher.fd_whitelist);
    return {};
  }

  // Boost 1.81's launcher calls exit() after a failed exec, which would run the runner's
  // atexit handlers and static destructors in the child. The failure has been reported to the
  // parent by the time this is called, so the child ends at once. (Variadic because the
  // launcher detects the hook with one signature and calls it with another.)
  template <typename... Args>
  void on_exec_error(Args&&...) {
    ::_exit(127);
  }
};

core::Result<Process> Fail(const ProcessSpec& spec, const std::string& message) {
  return core::MakeError((spec.name.empty() ? spec.argv.front() : spec.name) + ": " + message);
}

}  // namespace

core::Result<Process> Process::Start(const ProcessSpec& spec, Reaper* reaper) try {
  if (spec.argv.empty()) return core::MakeError(spec.name + ": no program to run");
  if (reaper != nullptr && !reaper->Alive()) {
    return Fail(spec, "the reaper (pid " + std::to_string(reaper->watchdog_pid()) +
                          ") is gone: nothing would clean up after this process");
  }
  if (std::error_code ec; !spec.cwd.empty() && !fs::is_directory(spec.cwd, ec)) {
    return Fail(spec, "working directory " + spec.cwd + " does not exist");
  }
  const Environment env = ChildEnvironment(spec);
  auto program = FindProgram(spec, env);
  if (!program) return Fail(spec, program.message());
  auto log = OpenOutput(spec.log_path);
  if (!log) return Fail(spec, log.message());
  Descriptor stdout_read;
  Descriptor out;
  if (spec.stdout_pipe) {
    if (auto ok = OpenStdoutPipe(stdout_read, out); !ok) return Fail(spec, ok.message());
  } else {
    out = Descriptor(::fcntl(log->get(), F_DUPFD_CLOEXEC, 0));
  }
  Descriptor in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  struct stat log_stat {};
  ::fstat(log->get(), &log_stat);

  std::vector<const char*> argv;
  for (const std::string& arg : spec.argv) argv.push_back(arg.c_str());
  argv.push_back(nullptr);

  boost::asio::io_context context;
  bp::posix::default_launcher launcher;
  bp::error_code ec;
  bp::process_stdio stdio{in.get(), out.get(), log->get()};
  bp::process_environment environment(env);
  ChildSetup setup{::getpid(), reaper};
  // Passing argv as a `const char**` keeps argv[0] as given rather than the resolved path.
  auto launch = [&](auto&&... start_dir) {
    return launcher(context.get_executor(), ec, *program, argv.data(), stdio, environment,
                    start_dir..., setup);
  };
  auto child = spec.cwd.empty() ? launch() : launch(bp::process_start_dir(spec.cwd));
  if (ec) {
    // The launcher leaves a child that failed to exec unreaped.
    if (launcher.pid > 0) {
      ::waitpid(launcher.pid, nullptr, 0);
      if (reaper != nullptr) reaper->Forget(launcher.pid);
    }
    return Fail(spec, "cannot start " + spec.argv.front() + ": " + ec.message());
  }

  // Supervised from here on by pid and a pidfd of our own, without Boost's handle.
  const pid_t pid = child.id();
  child.detach();
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    const int error = errno;
    SignalAndContinue(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    if (reaper != nullptr) reaper->Forget(pid);
    return Fail(spec, std::string("cannot watch the child: pidfd_open: ") + std::strerror(error));
  }
  Process process;
  process.name_ = spec.name;
  process.log_path_ = spec.log_path;
  process.log_start_ = static_cast<std::uint64_t>(log_stat.st_size);
  process.pid_ = pid;
  process.pidfd_ = pidfd;
  process.reaper_ = reaper;
  process.stdout_ = std::move(stdout_read);
  return process;
} catch (const std::exception& e) {
  return Fail(spec, std::string("cannot start: ") + e.what());
}

Process::Process(Process&& other) noexcept
    : name_(std::move(other.name_)),
      log_path_(std::move(other.log_path_)),
      log_start_(other.log_start_),
      pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      reaper_(other.reaper_),
      exit_code_(other.exit_code_),
      stdout_(std::move(other.stdout_)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ >= 0 && !exit_code_) Stop(kDefaultGrace);
    Release();
    name_ = std::move(other.name_);
    log_path_ = std::move(other.log_path_);
    log_start_ = other.log_start_;
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    reaper_ = other.reaper_;
    exit_code_ = other.exit_code_;
    stdout_ = std::move(other.stdout_);
  }
  return *this;
}

Descriptor& Descriptor::operator=(Descriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Descriptor::~Descriptor() {
  if (fd_ >= 0) ::close(fd_);
}

Process::~Process() {
  if (pid_ >= 0 && !exit_code_) Stop(kDefaultGrace);
  Release();
}

void Process::Release() noexcept {
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
}

void Process::Collect() {
  if (pid_ < 0 || exit_code_) return;
  siginfo_t info{};
  if (::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    // ECHILD: something else reaped it, which process.h rules out. Its exit code is lost, and
    // its group id may already be someone else's, so the group is left alone.
    if (errno == ECHILD) exit_code_ = -1;
    return;
  }
  if (info.si_pid == 0) return;
  // The leader is a zombie, which keeps its id, and so the group's, from being reused: clear
  // out the group now, while the id still names it.
  SignalAndContinue(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_code_ = DecodeStatus(status);
  if (reaper_ != nullptr) reaper_->Forget(pid_);
  Release();
}

bool Process::Running() {
  Collect();
  return pid_ >= 0 && !exit_code_;
}

std::optional<int> Process::ExitCode() {
  Collect();
  return exit_code_;
}

core::Status Process::Pause() {
  if (!Running()) return core::MakeError(name_ + " has exited: cannot pause it");
  ::kill(-pid_, SIGSTOP);
  return core::Ok();
}

core::Status Process::Resume() {
  if (!Running()) return core::MakeError(name_ + " has exited: cannot resume it");
  ::kill(-pid_, SIGCONT);
  return core::Ok();
}

core::Status Process::Kill() {
  if (!Running()) return core::MakeError(name_ + " had already exited");
  SignalAndContinue(pid_, SIGKILL);
  return core::Ok();
}

int Process::Stop(core::Duration grace) {
  if (Running()) {
    SignalAndContinue(pid_, SIGTERM);
    if (!Wait(grace)) {
      SignalAndContinue(pid_, SIGKILL);
      Wait(core::kMaxDuration);
    }
  }
  return exit_code_.value_or(-1);
}

std::optional<int> Process::Wait(core::Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  Collect();
  while (pid_ >= 0 && !exit_code_) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd exited{pidfd_, POLLIN, 0};
    ::poll(&exited, 1, static_cast<int>(std::min<std::int64_t>(left.count(), INT_MAX)));
    Collect();
  }
  return exit_code_;
}

}  // namespace faultline::experiments
