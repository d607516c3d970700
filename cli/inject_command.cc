#include "inject_command.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "app.h"
#include "faultline/core/duration.h"
#include "faultline/core/fault.h"
#include "faultline/experiments/reaper.h"
#include "faultline/injector/control.h"

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;
using inject::ControlTable;

constexpr const char* kGrammar = R"(Rules, one line each:
  [rule ID:] CALLS [FILTER...] -> [P%]ACTION(ARGS) [OPTION...]
  fsync path=/var/lib/app/* -> delay(50ms)
  connect port=5432 -> fail(ECONNREFUSED) times=3
  rule r2: point:plan.apply after=1 -> hold(h1) timeout=10s
  clock_gettime,gettimeofday,time -> skew(+1h)
CALLS: a comma-separated list of connect accept send sendto sendmsg recv recvfrom recvmsg read
  write readv writev pread pwrite open openat creat close rename renameat unlink unlinkat fsync
  fdatasync clock_gettime gettimeofday time nanosleep clock_nanosleep, or point:NAME
FILTER: fd=socket|file|pipe path=GLOB peer=ADDR[:PORT] port=N thread=GLOB clock=realtime|monotonic|all
ACTION: delay(10ms | uniform 5ms 50ms | normal 10ms 2ms) fail(ERRNO) short(BYTES) hold(NAME)
  skew(OFFSET[, RATE])
OPTION: after=N times=N lease=DURATION timeout=DURATION (hold, default 60s)
Statically linked programs, Go programs, raw syscalls and io_uring bypass LD_PRELOAD; see
docs/injector.md.)";

std::string Prefix() { return "faultline inject: "; }

core::Result<std::vector<core::Fault>> LoadRules(const std::vector<std::string>& lines,
                                                 const std::string& file) {
  std::vector<core::Fault> rules;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return core::MakeError("cannot read " + file + ": " + std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = core::ParseFaults(text.str(), core::CheckRule);
    if (!parsed) return core::MakeError(file + ":" + parsed.message().substr(5));
    rules = std::move(*parsed);
  }
  for (const std::string& line : lines) {
    auto rule = core::ParseFault(line);
    if (!rule) return rule.error();
    if (auto ok = core::CheckRule(*rule); !ok) return ok.error();
    rules.push_back(std::move(*rule));
  }
  return rules;
}

std::string ExecutableDir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.parent_path().string();
}

// Polls /proc/PID/maps until it names `path` (true), or the program exits or `limit` passes
// (false). A dynamic program maps its table as the shim loads, before main; on a loaded
// machine that can take seconds.
bool WaitUntilMapped(pid_t child, const std::string& path, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream maps("/proc/" + std::to_string(child) + "/maps");
    if (!maps) return false;  // gone
    for (std::string line; std::getline(maps, line);) {
      if (line.ends_with(path)) return true;
    }
    siginfo_t exited{};
    if (::waitid(P_PID, static_cast<id_t>(child), &exited, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        exited.si_pid == child) {
      return false;  // it exited (and stays to be reaped below)
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// The program execvp would run, for the checks below.
std::string ResolveCommand(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    std::error_code error;
    if (::access(candidate.c_str(), X_OK) == 0 &&
        !std::filesystem::is_directory(candidate, error)) {
      return candidate;
    }
  }
  return {};
}

// A 64-bit ELF with no interpreter: the dynamic loader, and so LD_PRELOAD, never runs for it.
// Scripts are not: their interpreter is dynamic.
bool IsStaticallyLinked(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header{};
  if (!in.read(reinterpret_cast<char*>(&header), sizeof header)) return false;
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) return false;
  if (header.e_ident[EI_CLASS] != ELFCLASS64) return false;
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr program{};
    in.seekg(static_cast<std::streamoff>(header.e_phoff + i * header.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&program), sizeof program)) break;
    if (program.p_type == PT_INTERP) return false;
  }
  return true;
}

// What LD_PRELOAD cannot reach: a statically linked ELF or a Go program.
std::string PreloadWarning(const std::string& path) {
  if (IsStaticallyLinked(path)) {
    return path + " is statically linked: LD_PRELOAD cannot reach it, so no rule will apply";
  }
  std::ifstream in(path, std::ios::binary);
  // Go binaries (1.13 on) have a .go.buildinfo section and call the kernel directly.
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (contents.find(std::string_view(".go.buildinfo\0", 14)) != std::string::npos) {
    return path +
           " is a Go program: it makes system calls without libc, so most rules "
           "will not apply (points and cgo calls still do)";
  }
  return {};
}

pid_t g_child = 0;

void Forward(int signal) {
  if (g_child > 0) ::kill(g_child, signal);
}

int RunUnderShim(const CLI::App& inject, InjectOptions& options) {
  if (options.command.empty()) {
    std::cerr << Prefix() << "no command: faultline inject [--rule RULE]... -- CMD [ARGS...]\n";
    return kExitBadInput;
  }
  if (const std::string word = MistypedInjectCommand(options); !word.empty()) {
    std::cerr << UnknownCommandMessage(inject, word)
              << "To run a program: faultline inject [--rule RULE]... -- CMD [ARGS...]\n";
    return kExitBadInput;
  }
  auto rules = LoadRules(options.rules, options.rules_file);
  if (!rules) {
    std::cerr << Prefix() << rules.message() << "\n";
    return kExitBadInput;
  }
  const std::optional<std::uint64_t> seed_option = SeedFromOption(options.seed);
  if (!seed_option) {
    std::cerr << Prefix() << "--seed must be a non-negative integer, got '" << options.seed
              << "'\n";
    return kExitBadInput;
  }
  const std::uint64_t seed = *seed_option;
  auto library = FindInjectLibrary(options.library);
  if (!library) {
    std::cerr << Prefix() << library.message() << "\n";
    return kExitHarnessError;
  }
  const std::string program = ResolveCommand(options.command[0]);
  if (program.empty()) {
    std::cerr << Prefix() << "command not found: " << options.command[0] << "\n";
    return kExitBadInput;
  }
  if (std::error_code error; std::filesystem::is_directory(program, error)) {
    std::cerr << Prefix() << "cannot run " << program << ": a directory\n";
    return kExitBadInput;
  }
  if (const std::string warning = PreloadWarning(program); !warning.empty()) {
    std::cerr << Prefix() << "warning: " << warning << "\n";
  }
  // A watchdog that removes the table if this launcher is killed (see reaper.h), told of the
  // table before it exists. It takes no process group: the program dies with the launcher
  // (PR_SET_PDEATHSIG below) and stays in the terminal's foreground group.
  auto reaper = experiments::Reaper::Start();
  if (!reaper) {
    std::cerr << Prefix() << reaper.message() << "\n";
    return kExitHarnessError;
  }
  const std::string path = ControlTable::DefaultPath();
  if (!reaper->RegisterFile(path)) {
    std::cerr << Prefix() << "the reaper (pid " << reaper->watchdog_pid()
              << ") is gone: nothing would remove the rule table\n";
    return kExitHarnessError;
  }
  auto table = ControlTable::Create(path, seed);
  if (!table) {
    std::cerr << Prefix() << table.message() << "\n";
    return kExitHarnessError;
  }
  if (auto ok = table->Set(*rules); !ok) {
    table->Unlink();
    std::cerr << Prefix() << ok.message() << "\n";
    return kExitBadInput;
  }

  std::string preload = *library;
  if (const char* existing = std::getenv("LD_PRELOAD"); existing != nullptr && *existing) {
    preload += std::string(":") + existing;
  }
  const pid_t parent = ::getpid();
  std::vector<char*> argv;
  for (std::string& arg : options.command) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // Closed by a successful exec, else given its errno: until the child has exec'd, its
  // memory is a copy of this process's, table mapping included, so the map alone says
  // nothing about the program having loaded the shim.
  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    table->Unlink();
    std::cerr << Prefix() << "pipe: " << std::strerror(errno) << "\n";
    return kExitHarnessError;
  }
  const pid_t child = ::fork();
  if (child < 0) {
    table->Unlink();
    std::cerr << Prefix() << "fork: " << std::strerror(errno) << "\n";
    return kExitHarnessError;
  }
  if (child == 0) {
    ::close(exec_pipe[0]);
    // The program dies with its launcher, so nothing outlives a killed faultline.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(kExitHarnessError);
    ::setenv("LD_PRELOAD", preload.c_str(), 1);
    ::setenv("FAULTLINE_INJECT_TABLE", table->path().c_str(), 1);
    ::execvp(argv[0], argv.data());
    const int error = errno;
    while (::write(exec_pipe[1], &error, sizeof error) < 0 && errno == EINTR) {
    }
    ::_exit(127);
  }
  ::close(exec_pipe[1]);
  int exec_error = 0;
  ssize_t got = 0;
  while ((got = ::read(exec_pipe[0], &exec_error, sizeof exec_error)) < 0 && errno == EINTR) {
  }
  ::close(exec_pipe[0]);
  if (got == sizeof exec_error) {
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    table->Unlink();
    std::cerr << Prefix() << "cannot run " << options.command.front() << ": "
              << std::strerror(exec_error) << "\n";
    return 127;
  }
  g_child = child;
  struct sigaction forward {};
  forward.sa_handler = Forward;
  ::sigemptyset(&forward.sa_mask);
  forward.sa_flags = SA_RESTART;
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(signal, &forward, nullptr);
  // Announce the pid once it can be used: when the program has mapped its table, so that a
  // `faultline inject set --target PID` started right after never finds it missing. A static
  // program never will (the launcher has warned); anything else that has not after 30 s has
  // dropped LD_PRELOAD (a setuid program, or an environment cleared on the way).
  if (!IsStaticallyLinked(program) &&
      !WaitUntilMapped(child, table->path(), std::chrono::seconds(30))) {
    siginfo_t exited{};
    const bool running =
        ::waitid(P_PID, static_cast<id_t>(child), &exited, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        exited.si_pid == 0;
    if (running) {
      std::cerr << Prefix() << "warning: process " << child
                << " has not loaded the shim after 30 s (setuid, or LD_PRELOAD cleared?); "
                   "rules may not reach it\n";
    }
  }
  if (!options.quiet) {
    // One write: a reader waiting for the pid never sees half the line (stderr is unbuffered).
    const std::string pid = std::to_string(child);
    std::cerr << Prefix() + "pid " + pid + ", seed " + std::to_string(seed) + " (pass --seed " +
                     std::to_string(seed) +
                     " to repeat); change rules with: faultline inject set --target " + pid +
                     " RULE\n"
              << std::flush;
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  table->Unlink();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kExitHarnessError;
}

// Runs a control subcommand on the table of the --target process.
int WithTarget(InjectOptions& options, int (*command)(ControlTable&, InjectOptions&)) {
  auto table = options.target > 0
                   ? ControlTable::ForProcess(options.target)
                   : core::Result<ControlTable>(core::MakeError("--target PID is required"));
  if (!table) {
    std::cerr << Prefix() << table.message() << "\n";
    return kExitBadInput;
  }
  return command(*table, options);
}

int Set(ControlTable& table, InjectOptions& options) {
  auto rules = LoadRules(options.rules, options.rules_file);
  if (!rules) {
    std::cerr << Prefix() << rules.message() << "\n";
    return kExitBadInput;
  }
  if (rules->empty()) {
    std::cerr << Prefix() << "no rule given: faultline inject set --target PID RULE...\n";
    return kExitBadInput;
  }
  if (auto ok = table.Set(*rules); !ok) {
    std::cerr << Prefix() << ok.message() << "\n";
    return kExitBadInput;
  }
  const inject::Status status = table.Read();
  for (const inject::RuleStatus& rule : status.rules) std::cout << rule.text << "\n";
  return kExitOk;
}

int Clear(ControlTable& table, InjectOptions& options) {
  auto removed = table.Clear(options.ids);
  if (!removed) {
    std::cerr << Prefix() << removed.message() << "\n";
    return kExitBadInput;
  }
  std::cout << "cleared " << *removed << (*removed == 1 ? " rule" : " rules") << "\n";
  return kExitOk;
}

int Release(ControlTable& table, InjectOptions& options) {
  core::Duration wait{0};
  if (!options.wait.empty()) {
    auto parsed = core::ParseDuration(options.wait);
    if (!parsed) {
      std::cerr << Prefix() << "--wait: " << parsed.message() << "\n";
      return kExitBadInput;
    }
    wait = *parsed;
  }
  // With --wait, keep looking until a thread is parked there: a script can release "as soon
  // as A is held" without racing it.
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::size_t released = table.Release(options.hold, options.all);
  while (released == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    released = table.Release(options.hold, options.all);
  }
  if (released == 0) {
    std::cerr << Prefix() << "nothing is held at " << options.hold << "\n";
    return 1;
  }
  std::cout << "released " << released << (released == 1 ? " thread" : " threads") << " held at "
            << options.hold << "\n";
  return kExitOk;
}

int ShowStatus(ControlTable& table, InjectOptions& options) {
  const inject::Status status = table.Read();
  if (options.prometheus) {
    std::cout << inject::PrometheusText(status);
    return kExitOk;
  }
  if (options.json) {
    boost::json::object out;
    out["seed"] = status.seed;
    out["errors"] = status.errors;
    boost::json::array rules;
    for (const auto& rule : status.rules) {
      rules.push_back({{"id", rule.id},
                       {"rule", rule.text},
                       {"hits", rule.hits},
                       {"fires", rule.fires},
                       {"expired", rule.expired}});
    }
    out["rules"] = std::move(rules);
    boost::json::array held;
    for (const auto& h : status.held) {
      held.push_back({{"hold", h.hold},
                      {"rule", h.rule},
                      {"pid", h.pid},
                      {"tid", h.tid},
                      {"held_seconds", h.held_seconds}});
    }
    out["held"] = std::move(held);
    boost::json::array calls;
    for (const auto& c : status.calls) {
      calls.push_back({{"call", c.call}, {"action", c.action}, {"count", c.count}});
    }
    out["calls"] = std::move(calls);
    std::cout << boost::json::serialize(out) << "\n";
    return kExitOk;
  }
  std::cout << "seed " << status.seed << "\n";
  if (status.rules.empty()) std::cout << "no rules\n";
  for (const auto& rule : status.rules) {
    std::cout << rule.text << "    hits=" << rule.hits << " acted=" << rule.fires
              << (rule.expired ? " (lease expired)" : "") << "\n";
  }
  for (const auto& h : status.held) {
    std::cout << "held at " << h.hold << ": pid " << h.pid << " thread " << h.tid << " for "
              << h.held_seconds << "s (rule " << h.rule << ")\n";
  }
  for (const auto& c : status.calls) {
    std::cout << c.call << " " << c.action << " " << c.count << "\n";
  }
  if (status.errors != 0) {
    std::cout << status.errors << " calls passed through on an internal error\n";
  }
  return kExitOk;
}

}  // namespace

std::string MistypedInjectCommand(const InjectOptions& options) {
  if (options.after_dashes || options.command.empty()) return {};
  return ResolveCommand(options.command.front()).empty() ? options.command.front() : "";
}

core::Result<std::string> FindInjectLibrary(const std::string& given) {
  std::vector<std::string> candidates;
  if (!given.empty()) {
    candidates.push_back(given);
  } else if (const char* env = std::getenv("FAULTLINE_INJECT_LIB"); env != nullptr && *env) {
    candidates.push_back(env);
  } else {
    const std::string dir = ExecutableDir();
    candidates = {dir + "/libfaultline_inject.so", dir + "/../injector/libfaultline_inject.so",
                  dir + "/../lib/faultline/libfaultline_inject.so"};
  }
  for (const std::string& candidate : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return fs::canonical(candidate, ec).string();
  }
  return core::MakeError("cannot find libfaultline_inject.so (looked at " + candidates.front() +
                         (candidates.size() > 1 ? " and next to it" : "") +
                         "); pass --lib PATH or set FAULTLINE_INJECT_LIB");
}

void SetupInjectCommand(CLI::App& app, InjectOptions& options, int& exit_code) {
  CLI::App* inject = app.add_subcommand(
      "inject",
      "Run a program under the fault-injection shim (LD_PRELOAD), or change a running one's "
      "rules");
  inject->footer(
      "Usage:\n"
      "  faultline inject [--rule RULE]... [--rules FILE] [--seed N] -- CMD [ARGS...]\n"
      "  faultline inject set|clear|release|status --target PID ...\n\n" +
      std::string(kGrammar));
  inject->add_option("--rule", options.rules, "A rule (repeatable)");
  inject->add_option("--rules", options.rules_file, "A file of rules, one per line")
      ->check(CLI::ExistingFile);
  inject->add_option("--seed", options.seed,
                     "Seed for every random choice (default: random, printed)");
  inject->add_option("--lib", options.library,
                     "The shim (default: $FAULTLINE_INJECT_LIB, or next to this executable)");
  inject->add_flag("-q,--quiet", options.quiet, "Do not print the pid and seed on stderr");
  inject->add_option("command", options.command, "The program and its arguments, after --");
  inject->callback([inject, &options, &exit_code] {
    if (inject->get_subcommands().empty()) exit_code = RunUnderShim(*inject, options);
  });

  auto target = [&](CLI::App* sub) {
    sub->add_option("--target", options.target, "The pid of a program run by faultline inject")
        ->required();
  };
  CLI::App* set = inject->add_subcommand("set",
                                         "Add rules to a running program, or replace "
                                         "those with the same id; effective at once");
  target(set);
  set->add_option("rule", options.rules, "Rules (each one quoted)");
  set->add_option("--rules", options.rules_file, "A file of rules")->check(CLI::ExistingFile);
  set->callback([&] { exit_code = WithTarget(options, Set); });

  CLI::App* clear =
      inject->add_subcommand("clear", "Remove rules by id (all without ids); held threads go on");
  target(clear);
  clear->add_option("id", options.ids, "Rule ids");
  clear->callback([&] { exit_code = WithTarget(options, Clear); });

  CLI::App* release =
      inject->add_subcommand("release", "Let the oldest thread parked at a hold go on");
  target(release);
  release->add_option("hold", options.hold, "The hold's name")->required();
  release->add_flag("--all", options.all, "Every thread parked there");
  release->add_option("--wait", options.wait,
                      "Wait up to this long (e.g. 5s) for a thread to be parked there");
  release->callback([&] { exit_code = WithTarget(options, Release); });

  CLI::App* status =
      inject->add_subcommand("status", "Rules with hit counts, parked threads and counters");
  target(status);
  status->add_flag("--prometheus", options.prometheus, "Counters as Prometheus text");
  status->add_flag("--json", options.json, "As JSON");
  status->callback([&] { exit_code = WithTarget(options, ShowStatus); });
}

}  // namespace faultline::cli
