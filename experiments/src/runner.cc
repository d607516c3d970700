#include "faultline/experiments/runner.h"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <poll.h>
#include <unistd.h>

#include "faultline/core/random.h"
#include "faultline/experiments/checker.h"
#include "faultline/experiments/decision_log.h"
#include "faultline/experiments/fault_scheduler.h"
#include "faultline/experiments/history.h"
#include "faultline/experiments/process.h"
#include "faultline/experiments/readiness.h"
#include "faultline/experiments/report.h"
#include "faultline/experiments/run_dir.h"
#include "faultline/experiments/run_metrics.h"
#include "faultline/experiments/run_values.h"
#include "faultline/experiments/schedule.h"
#include "faultline/injector/control.h"
#include "faultline/proxy/server.h"

namespace faultline::experiments {
namespace {

namespace bj = boost::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kTick = 10ms;
constexpr auto kProgressEvery = 250ms;
// A run that only its clients' finishing ends has its faults planned this far.
constexpr core::Duration kOpenEndedHorizon = std::chrono::hours(1);

// Operations arriving from one process, a client or a service with `history:`, through a pipe
// on its stdout, read as they are written; what it wrote is kept in `output` as well.
struct HistoryFeed {
  std::string source;   // "client writers-0", "service store": what messages call it
  int process_id = 0;   // the history's process for ops that do not name one
  std::string output;   // empty: it writes no history
  std::ofstream copy;   // appended to `output`, across restarts
  Descriptor pipe;      // the running process's stdout; empty once it has ended
  std::string partial;  // a line not yet ended
  std::uint64_t accepted_lines = 0;
  std::uint64_t rejected_lines = 0;
};

struct Service {
  const ServiceSpec* spec = nullptr;
  HistoryFeed feed;
  ProcessSpec process;
  std::optional<ReadyCheck> ready;
  std::optional<Process> running;
  std::optional<inject::ControlTable> table;
  std::uint64_t decisions_read = 0;  // its table's decisions before this one are logged
  bool killed_by_fault = false;      // an exit we caused is not a crash
  bool crashed = false;
  int restarts = 0;
};

struct Client {
  const WorkloadSpec* spec = nullptr;
  std::string name;  // WORKLOAD-I
  HistoryFeed feed;
  std::optional<Process> running;
  bool finished = false;
  bool killed_by_fault = false;
};

// Which fault a decision belongs to, by the name the fault has where it acts (a toxic's
// name on its proxy, a rule's id in its service's table).
struct FaultLabel {
  std::string fault;
  std::string kind;
};

std::string Iso8601(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

class Run final : private Actuator, private FaultListener {
 public:
  Run(const Spec& spec, const RunOptions& options)
      : written_(spec), spec_(spec), options_(options) {}

  RunResult Execute() {
    result_.seed = options_.seed;
    started_wall_ = std::chrono::system_clock::now();
    started_ = Clock::now();
    auto status = Prepare();
    if (status) status = StartEverything();
    if (status) status = MainLoop();
    Finish(status);
    return result_;
  }

 private:
  double Seconds() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }
  // The run's start on CLOCK_MONOTONIC (steady_clock), for clients that time their own ops:
  // an op's "time" is clock_gettime(CLOCK_MONOTONIC) minus this, in nanoseconds.
  std::string StartNs() const {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::nanoseconds>(started_.time_since_epoch()).count());
  }
  std::int64_t SinceStartNs() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started_).count();
  }

  void Note(const std::string& line) const {
    if (options_.on_note) options_.on_note(line);
  }

  void Event(const std::string& name, bj::object fields = {}) {
    if (!dir_) return;
    bj::object event;
    event["event"] = name;
    for (auto& [key, value] : fields) event[key] = std::move(value);
    dir_->Event(Seconds(), event);
  }

  // The spec again, its templates filled with this run's values.
  core::Status FillTemplates() {
    values_.emplace(options_.seed, dir_->path());
    auto filled = values_->Fill(written_);
    if (!filled.spec) {
      std::string message = "with this run's values filled in, the spec is not valid:";
      for (const Diagnostic& error : filled.errors) message += "\n  " + error.Format();
      return core::MakeError(message);
    }
    spec_ = std::move(*filled.spec);
    return core::Ok();
  }

  std::string Cwd(const std::string& cwd) const {
    if (cwd.empty()) return spec_.dir;
    return std::filesystem::path(cwd).is_absolute() ? cwd : spec_.dir + "/" + cwd;
  }

  // --- set-up -----------------------------------------------------------------------------

  core::Status Prepare() {
    auto dir = RunDir::Create(options_.runs_root, spec_.name, options_.seed, started_wall_);
    if (!dir) return dir.error();
    dir_.emplace(std::move(*dir));
    result_.run_dir = dir_->path();
    result_.run_id = dir_->id();
    Note("run " + dir_->id() + " (seed " + std::to_string(options_.seed) + "): " + dir_->path());
    // What `faultline replay` reads: the spec as written, and where relative paths start.
    if (auto ok = dir_->Write("spec.source.yaml", written_.text); !ok) return ok;
    if (auto ok = dir_->Write("spec.dir", written_.dir + "\n"); !ok) return ok;
    if (auto ok = FillTemplates(); !ok) return ok;
    if (auto ok = dir_->Write("spec.yaml", spec_.text); !ok) return ok;
    metrics_ = std::make_unique<RunMetrics>(written_.name, dir_->id(), options_.seed);
    if (!options_.metrics_address.empty()) {
      if (auto ok = metrics_->Serve(options_.metrics_address); !ok) return ok;
      Note("metrics: http://" +
           options_.metrics_address.substr(0, options_.metrics_address.rfind(':')) + ":" +
           std::to_string(metrics_->port()) + "/metrics");
    }
    const core::Duration horizon = LongestRun(spec_).value_or(kOpenEndedHorizon);
    auto plan = PlanFaults(spec_, options_.seed, horizon);
    if (!plan) return plan.error();
    plan_ = std::move(*plan);
    faults_.emplace(plan_, clock_, static_cast<Actuator&>(*this),
                    static_cast<FaultListener&>(*this));
    LabelFaults();
    decisions_.emplace(
        [this](double seconds, const bj::object& event) { dir_->Event(seconds, event); });
    Event("run_started", {{"experiment", spec_.name},
                          {"run_id", dir_->id()},
                          {"seed", std::to_string(options_.seed)},
                          {"faults_planned", plan_.size()}});
    return core::Ok();
  }

  void LabelFaults() {
    for (const ProxySpec& proxy : spec_.proxies) {
      for (const core::Fault& toxic : proxy.toxics) {
        labels_[{proxy.name, toxic.id}] = {toxic.id, std::string(toxic.action.kind->name)};
      }
    }
    for (const PlannedFault& planned : plan_) {
      const core::Fault& fault = planned.fault;
      labels_[{fault.where.target, fault.id}] = {planned.id, std::string(fault.action.kind->name)};
    }
  }

  FaultLabel LabelOf(const std::string& target, const std::string& name,
                     std::string_view otherwise) const {
    const auto it = labels_.find({target, name});
    if (it != labels_.end()) return it->second;
    return {name, name.empty() ? std::string() : std::string(otherwise)};
  }

  void Decided(Decision decision) {
    if (!decision.kind.empty()) {
      metrics_->FaultDecided(decision.kind, decision.target, decision.action);
    }
    decisions_->Add(std::move(decision));
  }

  // What the faults decided since the last call, into events.jsonl and the metrics.
  // `settled`: no process writes to a shim table any more (a decision half-written by one
  // that died is lost, not waited for).
  void LogDecisions(bool settled) {
    if (!decisions_) return;
    const std::int64_t started_us =
        std::chrono::duration_cast<std::chrono::microseconds>(started_wall_.time_since_epoch())
            .count();
    constexpr std::size_t kBatch = 4096;
    for (bool more = proxies_ != nullptr; more;) {
      const auto events = proxies_->events().Since(proxy_events_read_, kBatch);
      more = events.size() == kBatch;
      if (!events.empty() && events.front().seq > proxy_events_read_ + 1) {
        decisions_->Lost(Seconds(), "proxy", "", events.front().seq - proxy_events_read_ - 1);
      }
      for (const proxy::Event& event : events) {
        proxy_events_read_ = event.seq;
        const FaultLabel label = LabelOf(event.proxy, event.toxic, "toxic");
        Decision decision;
        decision.time = static_cast<double>(event.time_us - started_us) / 1e6;
        decision.fault = label.fault;
        decision.kind = label.kind;
        decision.family = "proxy";
        decision.target = event.proxy;
        decision.action = event.action;
        decision.where = {{"connection", event.connection}, {"direction", event.direction}};
        if (event.frame) decision.where["frame"] = *event.frame;
        decision.where["detail"] = event.detail;
        Decided(std::move(decision));
      }
    }
    const auto started_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(started_.time_since_epoch()).count();
    for (auto& [name, service] : services_) {
      if (!service.table) continue;
      inject::DecisionBatch batch = service.table->Decisions(service.decisions_read, settled);
      service.decisions_read = batch.next;
      decisions_->Lost(Seconds(), "shim", name, batch.lost);
      for (const inject::ShimDecision& made : batch.decisions) {
        const FaultLabel label = LabelOf(name, made.rule, "rule");
        Decision decision;
        decision.time = static_cast<double>(made.mono_ns - started_ns) / 1e9;
        decision.fault = label.fault;
        decision.kind = label.kind;
        decision.family = "shim";
        decision.target = name;
        decision.action = made.action;
        decision.where = {{"call", made.call},
                          {"pid", made.pid},
                          {"tid", made.tid},
                          {"hit", made.hit},
                          {"value", made.value}};
        if (!made.hold.empty()) decision.where["hold"] = made.hold;
        Decided(std::move(decision));
        // A hold with `release_on: SERVICE/RULE` (or a rule's until=) goes on once that rule
        // has acted, one hold per decision; `SERVICE/HOLD` once a thread has parked there.
        proxy::HoldBoard& board = holds();
        board.Reach(name + "/" + made.rule);
        if (made.action == "hold") {
          board.Reach(name + "/" + made.hold);
          ParkUntil(name, made);
        } else if (made.action == "release" || made.action == "timeout") {
          const auto parked = shim_parked_.find({name, made.value});
          if (parked != shim_parked_.end()) {
            board.Unpark(parked->second);  // a timeout must not let a later reach free another
            shim_parked_.erase(parked);
          }
        }
      }
    }
    decisions_->Flush(Seconds());
  }

  // Proxies and shims share one hold board: the proxies' when the run has any.
  proxy::HoldBoard& holds() { return proxies_ ? proxies_->holds() : own_holds_; }

  // A thread parked by a rule with until=POINT waits on the board like a proxy hold: the n-th
  // thread parked at that hold goes on once POINT has been reached n times.
  void ParkUntil(const std::string& service, const inject::ShimDecision& made) {
    Service& parked_in = services_.at(service);
    std::string until;
    for (const inject::RuleStatus& rule : parked_in.table->Read().rules) {
      if (rule.id != made.rule) continue;
      if (auto parsed = core::ParseFault(rule.text)) until = parsed->action.until;
      break;
    }
    if (until.empty()) return;
    proxy::HoldBoard& board = holds();
    proxy::HoldInfo info;
    info.proxy = service;
    info.toxic = made.hold;
    info.direction = "shim";
    info.release_on = until;
    info.release_after = board.NextCatch(service + "/" + made.hold);
    // The board releases from any thread (a proxy's, when its point is reached); the main
    // loop wakes the thread (ReleaseDueShimHolds).
    const std::uint64_t id =
        board.Park(std::move(info),
                   [due = shim_releases_, service, hold = made.hold](const std::string& reason) {
                     std::lock_guard lock(due->mutex);
                     due->holds.push_back({service, hold, reason});
                   });
    shim_parked_[{service, made.value}] = id;
  }

  void ReleaseDueShimHolds() {
    std::vector<ShimRelease> due;
    {
      std::lock_guard lock(shim_releases_->mutex);
      due.swap(shim_releases_->holds);
    }
    for (const ShimRelease& release : due) {
      Service& service = services_.at(release.service);
      if (service.table && service.table->Release(release.hold, false) > 0) {
        Event("shim_hold_released",
              {{"service", release.service}, {"hold", release.hold}, {"why", release.why}});
      }
    }
  }

  core::Status StartProxies() {
    if (spec_.proxies.empty()) return core::Ok();
    proxy::ProxyServer::Options options;
    options.threads = 1;
    options.seed = core::DeriveSeed(options_.seed, {"proxies"});
    options.metrics = metrics_->registry();
    proxies_ = std::make_unique<proxy::ProxyServer>(std::move(options));
    for (const ProxySpec& proxy : spec_.proxies) {
      proxy::ProxySpec created;
      created.name = proxy.name;
      created.listen = proxy.listen;
      if (proxy.listen == "auto") {
        // The port {{proxy.NAME}} was given, or any.
        created.listen = "127.0.0.1:" + std::to_string(values_->ProxyPort(proxy.name).value_or(0));
      }
      created.upstream = spec_.FindService(proxy.upstream) != nullptr
                             ? "127.0.0.1:" + std::to_string(values_->Port(proxy.upstream))
                             : proxy.upstream;
      std::vector<proxy::ToxicSpec> toxics;
      for (const core::Fault& fault : proxy.toxics) {
        auto toxic = proxy::ToxicFromFault(fault, fault.id);
        if (!toxic) return core::MakeError("proxy " + proxy.name + ": " + toxic.message());
        toxics.push_back(std::move(*toxic));
      }
      auto state = proxies_->Create(created, std::move(toxics));
      if (!state) return core::MakeError("proxy " + proxy.name + ": " + state.message());
      Event(
          "proxy_started",
          {{"proxy", proxy.name}, {"listen", state->spec.listen}, {"upstream", created.upstream}});
    }
    return core::Ok();
  }

  core::Status PrepareService(Service& service) {
    const ServiceSpec& spec = *service.spec;
    service.process.name = spec.name;  // messages say "service NAME"
    service.process.argv = spec.command.Argv();
    service.process.cwd = Cwd(spec.cwd);
    service.process.log_path = dir_->LogPath(spec.name);
    for (const auto& [name, value] : spec.env) service.process.env.emplace_back(name, value);
    if (spec.history) {
      // Its process number follows the clients'; a restart appends to the same file.
      service.feed.source = "service " + spec.name;
      service.feed.process_id = ClientCount() + HistoryServiceIndex(spec);
      SetRunEnv(service.process, service.feed.process_id);
      if (auto ok = FeedFrom(service.process, service.feed, spec.history_file); !ok) return ok;
    }
    if (spec.inject) {
      if (options_.inject_library.empty()) {
        return core::MakeError("service " + spec.name +
                               " runs under the injector, but "
                               "libfaultline_inject.so was not found");
      }
      // Known to the watchdog before it exists: a killed runner leaves no table behind.
      const std::string path = inject::ControlTable::DefaultPath();
      if (options_.reaper != nullptr && !options_.reaper->RegisterFile(path)) {
        return core::MakeError("service " + spec.name + ": the reaper (pid " +
                               std::to_string(options_.reaper->watchdog_pid()) +
                               ") is gone: nothing would remove its rule table");
      }
      auto table = inject::ControlTable::Create(
          path, core::DeriveSeed(options_.seed, {"inject", spec.name}));
      if (!table) return core::MakeError("service " + spec.name + ": " + table.message());
      if (!spec.rules.empty()) {
        if (auto ok = table->Set(spec.rules); !ok) {
          table->Unlink();
          return core::MakeError("service " + spec.name + ": " + ok.message());
        }
      }
      service.process.env.emplace_back("LD_PRELOAD", options_.inject_library);
      service.process.env.emplace_back("FAULTLINE_INJECT_TABLE", table->path());
      service.table.emplace(std::move(*table));
    }
    if (spec.ready) {
      ReadyCheck check;
      check.timeout = spec.ready->timeout;
      check.interval = spec.ready->interval;
      switch (spec.ready->kind) {
        case ReadySpec::Kind::kTcp:
          check.kind = ReadyCheck::Kind::kTcp;
          check.target = spec.ready->target.find(':') == std::string::npos
                             ? "127.0.0.1:" + std::to_string(values_->Port(spec.ready->target))
                             : spec.ready->target;
          break;
        case ReadySpec::Kind::kHttp:
          check.kind = ReadyCheck::Kind::kHttp;
          check.target = spec.ready->target;
          break;
        case ReadySpec::Kind::kLog:
          check.kind = ReadyCheck::Kind::kLog;
          check.target = spec.ready->target;
          break;
        case ReadySpec::Kind::kCommand:
          check.kind = ReadyCheck::Kind::kCommand;
          check.command = spec.ready->command.Argv();
          break;
      }
      service.ready = check;
    }
    return core::Ok();
  }

  // What a process that writes operations is told: its process number in the history, the
  // run directory, and when the run started (its ops' `time` counts from there).
  void SetRunEnv(ProcessSpec& process, int process_id) const {
    process.env.emplace_back("FAULTLINE_PROCESS", std::to_string(process_id));
    process.env.emplace_back("FAULTLINE_RUN_DIR", dir_->path());
    process.env.emplace_back("FAULTLINE_START_NS", StartNs());
  }

  // Its stdout is where `feed` reads its operations, kept in `file` (empty:
  // logs/NAME.history).
  core::Status FeedFrom(ProcessSpec& process, HistoryFeed& feed, const std::string& file) const {
    feed.output = file.empty() ? dir_->path() + "/logs/" + process.name + ".history" : file;
    std::error_code ec;
    if (const auto parent = std::filesystem::path(feed.output).parent_path(); !parent.empty()) {
      std::filesystem::create_directories(parent, ec);
    }
    feed.copy.open(feed.output, std::ios::binary | std::ios::app);
    if (!feed.copy) return core::MakeError(process.name + ": cannot open " + feed.output);
    process.stdout_pipe = true;
    return core::Ok();
  }

  // A (re)started process's stdout, once what its predecessor wrote has all been read. A
  // line it left unfinished ends there, rather than run on into the new process's first.
  void Attach(HistoryFeed& feed, Process& process) {
    if (feed.output.empty()) return;
    EndHistory(feed);
    feed.pipe = process.TakeStdout();
  }

  int ClientCount() const {
    int count = 0;
    for (const WorkloadSpec& workload : spec_.workload) count += workload.concurrency;
    return count;
  }
  // Among the services with a history, in the file's order.
  int HistoryServiceIndex(const ServiceSpec& wanted) const {
    int index = 0;
    for (const ServiceSpec& service : spec_.services) {
      if (&service == &wanted) break;
      index += service.history ? 1 : 0;
    }
    return index;
  }

  core::Status StartService(Service& service, bool wait_ready) {
    auto started = Process::Start(service.process, options_.reaper);
    if (!started) return started.error();
    service.running.emplace(std::move(*started));
    Attach(service.feed, *service.running);
    service.killed_by_fault = false;
    Event("service_started", {{"service", service.spec->name}, {"pid", service.running->pid()}});
    if (wait_ready && service.ready) {
      const auto read_histories = [this] {
        for (auto& [name, other] : services_) ReadHistory(other.feed);
      };
      if (auto ok = WaitReady(*service.ready, *service.running, read_histories); !ok) return ok;
    }
    if (wait_ready) {
      Event("service_ready", {{"service", service.spec->name}});
      faults_->ServiceReady(service.spec->name);
    }
    return core::Ok();
  }

  core::Status StartEverything() {
    if (auto ok = StartProxies(); !ok) return ok;
    for (const ServiceSpec& spec : spec_.services) services_[spec.name].spec = &spec;
    for (const ServiceSpec* spec : spec_.StartOrder()) {
      Service& service = services_[spec->name];
      if (auto ok = PrepareService(service); !ok) return ok;
      Note("starting " + spec->name);
      if (auto ok = StartService(service, true); !ok) return ok;
    }
    return StartClients();
  }

  core::Status StartClients() {
    int process_id = 0;
    for (const WorkloadSpec& workload : spec_.workload) {
      for (int i = 0; i < workload.concurrency; ++i) {
        Client client;
        client.spec = &workload;
        const std::string name = ClientName(workload, i);
        client.name = name;
        client.feed.source = "client " + name;
        client.feed.process_id = process_id++;
        ProcessSpec process;
        process.name = name;
        process.argv = workload.command.Argv();
        process.cwd = spec_.dir;
        process.log_path = dir_->LogPath(name);
        for (const auto& [key, value] : workload.env) process.env.emplace_back(key, value);
        SetRunEnv(process, client.feed.process_id);
        process.env.emplace_back("FAULTLINE_CLIENT", std::to_string(i));
        process.env.emplace_back("FAULTLINE_CLIENTS", std::to_string(workload.concurrency));
        process.env.emplace_back("FAULTLINE_SEED",
                                 std::to_string(core::DeriveSeed(options_.seed, {"client", name})));
        if (workload.ops) {
          // The ops are shared out: the first clients take one more when they do not divide.
          const std::uint64_t share =
              *workload.ops / workload.concurrency +
              (static_cast<std::uint64_t>(i) < *workload.ops % workload.concurrency ? 1 : 0);
          process.env.emplace_back("FAULTLINE_OPS", std::to_string(share));
        }
        if (workload.history) {
          const std::string file =
              workload.history_file.empty() ? "" : workload.history_file + "." + std::to_string(i);
          if (auto ok = FeedFrom(process, client.feed, file); !ok) return ok;
        }
        auto started = Process::Start(process, options_.reaper);
        if (!started) return started.error();
        client.running.emplace(std::move(*started));
        Attach(client.feed, *client.running);
        Event("client_started", {{"client", name}, {"pid", client.running->pid()}});
        clients_.push_back(std::move(client));
      }
    }
    return core::Ok();
  }

  // --- the run ----------------------------------------------------------------------------

  // Everything the feed's pipe holds now.
  void DrainHistory(HistoryFeed& feed) {
    while (ReadHistory(feed)) {
    }
  }

  // The feed's process is gone: what it wrote is read, and a line it left unfinished ends
  // here (its pipe may stay open in a child it left behind).
  void EndHistory(HistoryFeed& feed) {
    DrainHistory(feed);
    EndPipe(feed);
    TakeLines(feed);
  }

  // No more comes through the feed's pipe; a last line without its newline still counts.
  static void EndPipe(HistoryFeed& feed) {
    feed.pipe = Descriptor();
    if (!feed.partial.empty() && feed.partial.back() != '\n') feed.partial += '\n';
  }

  // Reads what the feed's pipe holds, up to kMaxReadAtOnce so that a fast writer does not
  // starve the loop, and takes in each whole line; at the pipe's end, a last line without
  // its newline too. Whether there may be more to read at once.
  bool ReadHistory(HistoryFeed& feed) {
    constexpr std::size_t kMaxReadAtOnce = 1 << 20;
    if (!feed.pipe) return false;
    char buffer[64 << 10];
    bool ended = false;
    std::size_t read = 0;
    while (read < kMaxReadAtOnce) {
      const ssize_t n = ::read(feed.pipe.get(), buffer, sizeof buffer);
      if (n > 0) {
        feed.copy.write(buffer, n);
        feed.partial.append(buffer, static_cast<std::size_t>(n));
        read += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        ended = n == 0 || errno != EAGAIN;
        break;
      }
    }
    feed.copy.flush();
    if (ended) EndPipe(feed);
    TakeLines(feed);
    return read >= kMaxReadAtOnce;
  }

  // Each whole line of what the feed has read, as an op (or a rejected line).
  void TakeLines(HistoryFeed& feed) {
    std::size_t start = 0;
    for (std::size_t end; (end = feed.partial.find('\n', start)) != std::string::npos;
         start = end + 1) {
      const std::string_view line(feed.partial.data() + start, end - start);
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      auto op = ParseOpLine(line, feed.process_id, SinceStartNs());
      if (!op) {
        RejectLine(feed, line, op.message());
        continue;
      }
      ++feed.accepted_lines;
      const Op::Type type = op->type;
      const std::string f = op->f;
      const std::uint64_t index = history_.Append(std::move(*op));
      if (type != Op::Type::kInvoke) {
        std::optional<double> latency;
        if (auto invoke = history_.PairOf(index)) {
          latency = static_cast<double>(history_[index].time_ns - history_[*invoke].time_ns) / 1e9;
        }
        metrics_->OpCompleted(f, TypeName(type), latency);
        (type == Op::Type::kOk ? ops_ok_ : ops_failed_)++;
      }
    }
    feed.partial.erase(0, start);
  }

  // A line that is not an operation: the first is shown at once, each is counted (in
  // result.json and at the end), and the first kMaxRejectionEvents are events.
  void RejectLine(HistoryFeed& feed, std::string_view line, const std::string& reason) {
    constexpr std::uint64_t kMaxRejectionEvents = 100;
    constexpr std::size_t kMaxQuoted = 200;
    ++feed.rejected_lines;
    ++result_.rejected_history_lines;
    const std::string quoted(line.substr(0, kMaxQuoted));
    const std::string& name = feed.source;
    if (result_.rejected_history_lines <= kMaxRejectionEvents) {
      Event("bad_history_line",
            {{"process", feed.process_id}, {"source", name}, {"error", reason}, {"line", quoted}});
    }
    if (result_.rejected_history_lines == 1) {
      result_.first_rejected_line = name + ": " + reason + ": " + quoted;
      Note("warning: a history line of " + name + " was rejected: " + reason +
           "\n  the line: " + quoted + "\n  (later ones are counted; see result.json)");
    }
  }

  // A workload whose clients wrote lines and had every one of them rejected feeds the
  // checkers nothing: a harness error, not a verdict on the system.
  core::Status CheckHistoryLines() {
    if (result_.rejected_history_lines == 0) return core::Ok();
    Event("history_lines_rejected",
          {{"count", result_.rejected_history_lines}, {"first", result_.first_rejected_line}});
    for (const WorkloadSpec& workload : spec_.workload) {
      std::uint64_t accepted = 0;
      std::uint64_t rejected = 0;
      for (const Client& client : clients_) {
        if (client.spec != &workload) continue;
        accepted += client.feed.accepted_lines;
        rejected += client.feed.rejected_lines;
      }
      if (rejected > 0 && accepted == 0) {
        return core::MakeError("workload " + workload.name + ": all " + std::to_string(rejected) +
                               " history lines its clients wrote were rejected; the first, " +
                               result_.first_rejected_line);
      }
    }
    for (const auto& [name, service] : services_) {
      const HistoryFeed& feed = service.feed;
      if (feed.rejected_lines > 0 && feed.accepted_lines == 0) {
        return core::MakeError("service " + name + ": all " + std::to_string(feed.rejected_lines) +
                               " history lines it wrote were rejected; the first, " +
                               result_.first_rejected_line);
      }
    }
    return core::Ok();
  }

  void WatchClients() {
    for (Client& client : clients_) {
      ReadHistory(client.feed);
      const auto& limit = client.spec->duration;
      if (limit && !client.finished && client.running &&
          Clock::now() - clients_started_ >= std::chrono::duration_cast<Clock::duration>(*limit)) {
        client.running->Stop(2s);  // its workload's time is up
      }
      if (!client.finished && client.running && !client.running->Running()) {
        DrainHistory(client.feed);
        client.finished = true;
        Event("client_exited", {{"client", client.feed.process_id},
                                {"code", client.running->ExitCode().value_or(-1)},
                                {"killed", client.killed_by_fault}});
      }
    }
  }

  void WatchServices() {
    for (auto& [name, service] : services_) {
      if (!service.running || service.running->Running()) continue;
      const int code = service.running->ExitCode().value_or(-1);
      if (service.killed_by_fault) continue;  // down on purpose; the fault brings it back
      Event("service_exited", {{"service", name}, {"code", code}});
      service.running.reset();
      const RestartPolicy policy = service.spec->restart;
      if (code != 0) {
        service.crashed = true;
        AddViolation("service " + name + " stays up",
                     "service " + name + " exited with code " + std::to_string(code) + " at " +
                         core::FormatDuration(
                             std::chrono::duration_cast<core::Duration>(Clock::now() - started_)) +
                         " (see logs/" + name + ".log)",
                     {{"service", name}, {"code", code}, {"time", Seconds()}});
      }
      if (policy == RestartPolicy::kAlways || (policy == RestartPolicy::kOnFailure && code != 0)) {
        ++service.restarts;
        if (auto ok = StartService(service, false); !ok) {
          Event("service_restart_failed", {{"service", name}, {"error", ok.message()}});
        }
      }
    }
  }

  // --- faults: what applying and reverting one means, and what is recorded of it --------

  // Toxics on the run's proxies, under the fault's toxic name.
  class ProxyActuator final : public Actuator {
   public:
    explicit ProxyActuator(const std::unique_ptr<proxy::ProxyServer>& proxies)
        : proxies_(proxies) {}
    core::Status Apply(const PlannedFault& planned, std::optional<core::Duration>&) override {
      const core::Fault& fault = planned.fault;
      auto toxic = proxy::ToxicFromFault(fault, fault.id);
      if (!toxic) return toxic.error();
      auto added = proxies_->AddToxic(fault.where.target, *toxic);
      if (!added) return added.error();
      return core::Ok();
    }
    core::Status Revert(const PlannedFault& planned) override {
      return proxies_->RemoveToxic(planned.fault.where.target, planned.fault.id);
    }

   private:
    const std::unique_ptr<proxy::ProxyServer>& proxies_;
  };

  // Rules and skews in a service's shim table, under the fault's id.
  class ShimActuator final : public Actuator {
   public:
    explicit ShimActuator(std::map<std::string, Service>& services) : services_(services) {}
    core::Status Apply(const PlannedFault& planned, std::optional<core::Duration>&) override {
      // In the service's own table, the rule acts on the process it is in: it names no target.
      core::Fault rule = planned.fault;
      rule.where.target_kind = core::TargetKind::kSelf;
      rule.where.target.clear();
      return services_.at(planned.fault.where.target)
          .table->Set(std::span<const core::Fault>(&rule, 1));
    }
    core::Status Revert(const PlannedFault& planned) override {
      const std::string& id = planned.fault.id;
      auto cleared = services_.at(planned.fault.where.target)
                         .table->Clear(std::span<const std::string>(&id, 1));
      if (!cleared) return cleared.error();
      return core::Ok();
    }

   private:
    std::map<std::string, Service>& services_;
  };

  // Pauses and kills of services and clients; each process signalled is a decision.
  class ProcessActuator final : public Actuator {
   public:
    explicit ProcessActuator(Run& run) : run_(run) {}
    core::Status Apply(const PlannedFault& fault,
                       std::optional<core::Duration>& ends_after) override {
      const core::Fault& action = fault.fault;
      const std::string& target = action.where.target;
      const bool kill = action.action.kind->name == "kill";
      if (action.where.target_kind == core::TargetKind::kClients) {
        return run_.ForClients(target, [&](Client& client) {
          if (kill) client.killed_by_fault = true;
          return Signalled(fault, kill ? "kill" : "pause", client.name,
                           kill ? client.running->Kill() : client.running->Pause());
        });
      }
      Service& service = run_.services_.at(target);
      if (!service.running) return core::MakeError("service " + target + " is not running");
      if (!kill) return Signalled(fault, "pause", target, service.running->Pause());
      service.killed_by_fault = true;
      if (auto ok = Signalled(fault, "kill", target, service.running->Kill()); !ok) {
        return ok;
      }
      if (core::Restarts(action)) ends_after = core::RestartAfter(action);  // its downtime
      return core::Ok();
    }
    core::Status Revert(const PlannedFault& fault) override {
      const core::Fault& action = fault.fault;
      const std::string& target = action.where.target;
      if (action.action.kind->name == "pause") {
        if (action.where.target_kind == core::TargetKind::kClients) {
          // One that finished meanwhile has nothing to resume: not an error on revert.
          static_cast<void>(run_.ForClients(target, [&](Client& client) {
            return Signalled(fault, "resume", client.name, client.running->Resume());
          }));
          return core::Ok();
        }
        Service& service = run_.services_.at(target);
        if (!service.running) return core::Ok();
        return Signalled(fault, "resume", target, service.running->Resume());
      }
      if (!core::Restarts(action)) return core::Ok();  // a killed client stays down
      Service& service = run_.services_.at(target);
      if (service.running) service.running->Wait(2s);  // collect the killed one
      service.running.reset();
      ++service.restarts;
      return Signalled(fault, "restart", target, run_.StartService(service, false));
    }

   private:
    // `done`, logged as a decision on `process` (a service, or a client) when it succeeded.
    core::Status Signalled(const PlannedFault& fault, const char* what, const std::string& process,
                           core::Status done) {
      if (done) Decided(fault, what, process);
      return done;
    }
    void Decided(const PlannedFault& fault, const char* what, const std::string& process) {
      Decision decision;
      decision.time = run_.Seconds();
      decision.fault = fault.id;
      decision.kind = std::string(fault.fault.action.kind->name);
      decision.family = "process";
      decision.target = fault.fault.where.target;
      decision.action = what;
      decision.where = {{"process", process}};
      run_.Decided(std::move(decision));
    }
    Run& run_;
  };

  // Each family of faults has its actuator.
  Actuator& ActuatorFor(const core::Fault& fault) {
    switch (fault.family()) {
      case core::Family::kProxy:
        return proxy_actuator_;
      case core::Family::kShim:
        return shim_actuator_;
      case core::Family::kProcess:
        break;
    }
    return process_actuator_;
  }

  core::Status Apply(const PlannedFault& fault,
                     std::optional<core::Duration>& ends_after) override {
    return ActuatorFor(fault.fault).Apply(fault, ends_after);
  }
  core::Status Revert(const PlannedFault& fault) override {
    return ActuatorFor(fault.fault).Revert(fault);
  }

  // Acts on each running client that `target` names (a workload: all of its clients; or
  // one); an error when none is running.
  template <typename Act>
  core::Status ForClients(const std::string& target, Act act) {
    bool any = false;
    for (Client& client : clients_) {
      if (client.spec->name != target && client.name != target) continue;
      if (!client.running || client.finished || !client.running->Running()) continue;
      any = true;
      if (auto ok = act(client); !ok) return ok;
    }
    if (!any) return core::MakeError("no client of " + target + " is running");
    return core::Ok();
  }

  bj::object FaultFields(const PlannedFault& fault) const {
    return {{"fault", fault.id},
            {"kind", fault.fault.action.kind->name},
            {"target", fault.fault.where.target},
            {"description", DescribeFault(fault)}};
  }

  void Started(const PlannedFault& fault) override {
    metrics_->FaultStarted(fault.fault.action.kind->name, fault.fault.where.target);
    Event("fault_started", FaultFields(fault));
  }

  void Failed(const PlannedFault& fault, const std::string& error) override {
    bj::object fields = FaultFields(fault);
    fields["error"] = error;
    Event("fault_failed", std::move(fields));
  }

  void Ended(const PlannedFault& fault, const std::string& error) override {
    metrics_->FaultEnded(fault.fault.action.kind->name, fault.fault.where.target);
    bj::object fields = FaultFields(fault);
    if (!error.empty()) fields["error"] = error;
    Event("fault_ended", std::move(fields));
  }

  void SampleShim() {
    std::map<std::pair<std::string, std::string>, std::uint64_t> totals;
    for (auto& [name, service] : services_) {
      if (!service.table) continue;
      for (const auto& count : service.table->Read().calls) {
        totals[{count.call, count.action}] += count.count;
      }
    }
    for (const auto& [key, total] : totals) metrics_->InjectCalls(key.first, key.second, total);
  }

  void AddViolation(const std::string& invariant, const std::string& summary, bj::object evidence) {
    std::lock_guard lock(violations_mutex_);
    metrics_->InvariantViolated(invariant);
    for (const Violation& existing : result_.violations) {
      if (existing.invariant == invariant) return;  // the first evidence is the one kept
    }
    Event("invariant_violated", {{"invariant", invariant}, {"summary", summary}});
    Note("violated: " + invariant + ": " + summary);
    result_.violations.push_back({invariant, summary, std::move(evidence)});
  }

  // Runs a probe or final command once; ok when it exits 0 within the invariant's timeout.
  core::Status CheckCommand(const InvariantSpec& invariant, const std::string& log_name) {
    ProcessSpec probe;
    probe.name = invariant.name;
    probe.argv = invariant.command.Argv();
    probe.cwd = spec_.dir;
    probe.log_path = dir_->LogPath(log_name);
    auto started = Process::Start(probe, options_.reaper);
    if (!started) return started.error();
    const auto code = started->Wait(invariant.timeout);
    if (!code) {
      (void)started->Kill();
      return core::MakeError("did not finish within " + core::FormatDuration(invariant.timeout));
    }
    if (*code != 0) {
      return core::MakeError("exited with code " + std::to_string(*code) +
                             OutputOf(probe.log_path, started->log_start()));
    }
    return core::Ok();
  }

  // ": LINE / LINE / LINE", the first lines a check printed, for the violation's summary.
  static std::string OutputOf(const std::string& log, std::uint64_t from) {
    std::ifstream in(log, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(from));
    std::string text;
    int lines = 0;
    for (std::string line; lines < 3 && std::getline(in, line);) {
      if (line.empty()) continue;
      text += (lines++ == 0 ? ": " : " / ") + line.substr(0, 200);
    }
    return text;
  }

  core::Status CheckInvariantOnce(const InvariantSpec& invariant, const std::string& log_name) {
    if (!invariant.url.empty()) {
      ReadyCheck check;
      check.kind = ReadyCheck::Kind::kHttp;
      check.target = invariant.url;
      check.attempt_timeout = invariant.timeout;
      return CheckOnce(check);
    }
    return CheckCommand(invariant, log_name);
  }

  // `always` probes, each on its own thread, until the run ends.
  void StartProbes() {
    int number = 0;
    for (const InvariantSpec& invariant : spec_.invariants) {
      ++number;
      if (invariant.kind != InvariantSpec::Kind::kProbe || invariant.eventually) continue;
      probes_.emplace_back([this, &invariant, number] {
        const std::string log_name = "probe-" + std::to_string(number);
        std::unique_lock lock(probe_mutex_);
        while (!probes_stop_) {
          lock.unlock();
          if (auto ok = CheckInvariantOnce(invariant, log_name); !ok) {
            AddViolation(
                invariant.name,
                invariant.name + " failed at " + std::to_string(Seconds()) + " s: " + ok.message(),
                {{"time", Seconds()}, {"error", ok.message()}});
          }
          lock.lock();
          probe_wake_.wait_for(lock, invariant.every, [this] { return probes_stop_; });
        }
      });
    }
  }

  void StopProbes() {
    {
      std::lock_guard lock(probe_mutex_);
      probes_stop_ = true;
    }
    probe_wake_.notify_all();
    for (std::thread& probe : probes_) probe.join();
    probes_.clear();
  }

  bool Interrupted() const {
    return options_.interrupted != nullptr && options_.interrupted->load();
  }

  core::Status MainLoop() {
    clients_started_ = Clock::now();
    faults_->ClientsStarted();
    const Clock::time_point deadline =
        spec_.duration
            ? clients_started_ + std::chrono::duration_cast<Clock::duration>(*spec_.duration)
            : Clock::time_point::max();
    StartProbes();
    auto next_progress = Clock::now();
    while (true) {
      WatchClients();
      for (auto& [name, service] : services_) ReadHistory(service.feed);
      WatchServices();
      faults_->OpsReached(history_.size());
      clock_.FireDue();
      LogDecisions(false);
      ReleaseDueShimHolds();
      const auto now = Clock::now();
      if (now >= next_progress) {
        SampleShim();
        Progress();
        next_progress = now + kProgressEvery;
      }
      if (Interrupted()) return core::MakeError("interrupted");
      if (now >= deadline) break;
      const bool clients_done =
          !clients_.empty() &&
          std::all_of(clients_.begin(), clients_.end(), [](const Client& c) { return c.finished; });
      if (clients_done) break;
      // The loop's pace, or sooner when a fault is due (faults start on time) or an operation
      // arrives (a trigger on the n-th op fires when it is written).
      auto wake = Clock::now() + kTick;
      if (const auto due = clock_.next_deadline(); due && *due < wake) wake = *due;
      WaitForHistory(wake);
    }
    return core::Ok();
  }

  // Until `wake`, or sooner when a history pipe has something to read (or has ended).
  void WaitForHistory(Clock::time_point wake) {
    std::vector<pollfd> pipes;
    const auto watch = [&](const HistoryFeed& feed) {
      if (feed.pipe) pipes.push_back({feed.pipe.get(), POLLIN, 0});
    };
    for (const Client& client : clients_) watch(client.feed);
    for (const auto& [name, service] : services_) watch(service.feed);
    const auto left = std::max(Clock::duration::zero(), wake - Clock::now());
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
    const timespec timeout{static_cast<time_t>(seconds.count()),
                           static_cast<long>(std::chrono::nanoseconds(left - seconds).count())};
    ::ppoll(pipes.data(), pipes.size(), &timeout, nullptr);
  }

  void Progress() {
    if (!options_.on_progress) return;
    RunProgress progress;
    progress.elapsed_seconds = Seconds();
    progress.ops_ok = ops_ok_;
    progress.ops_failed = ops_failed_;
    progress.active_faults = faults_ ? faults_->active() : 0;
    {
      std::lock_guard lock(violations_mutex_);
      progress.violations = static_cast<int>(result_.violations.size());
    }
    options_.on_progress(progress);
  }

  // --- the end ----------------------------------------------------------------------------

  void Quiesce() {
    StopProbes();
    if (faults_) faults_->EndAll();
    // Clients still running at the end (the duration ran out) are stopped; their last ops
    // are read so that nothing they wrote is lost.
    for (Client& client : clients_) {
      if (client.running && !client.finished) {
        DrainHistory(client.feed);  // room in its pipe for what it writes as it stops
        client.running->Stop(2s);
        client.finished = true;
        Event("client_stopped", {{"client", client.feed.process_id}});
      }
      if (!client.feed.output.empty()) EndHistory(client.feed);  // every client is done
    }
    // Services with a history keep running for the finals; what they wrote so far counts.
    for (auto& [name, service] : services_) DrainHistory(service.feed);
  }

  void CheckFinalInvariants() {
    int number = 0;
    for (const InvariantSpec& invariant : spec_.invariants) {
      ++number;
      const std::string log_name = "final-" + std::to_string(number);
      if (invariant.kind == InvariantSpec::Kind::kFinal ||
          (invariant.kind == InvariantSpec::Kind::kProbe && invariant.eventually)) {
        // `eventually`: it may take the system a while to recover; try until its timeout.
        const auto until =
            Clock::now() + std::chrono::duration_cast<Clock::duration>(invariant.timeout);
        core::Status status = CheckInvariantOnce(invariant, log_name);
        while (!status && invariant.eventually && Clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::duration_cast<Clock::duration>(invariant.every));
          status = CheckInvariantOnce(invariant, log_name);
        }
        if (!status) {
          const std::string what =
              invariant.url.empty() ? invariant.command.Text() : "GET " + invariant.url;
          AddViolation(invariant.name, what + " " + status.message(),
                       {{"error", status.message()}});
        }
      } else if (invariant.kind == InvariantSpec::Kind::kChecker) {
        CheckerOptions options;
        options.min_availability = invariant.min_availability;
        auto checker = MakeChecker(invariant.checker, options);
        if (!checker) {
          AddViolation(invariant.name, checker.message(), {});
          continue;
        }
        const CheckResult checked = (*checker)->Check(history_);
        Event("checker", {{"checker", invariant.checker},
                          {"valid", checked.valid},
                          {"summary", checked.summary}});
        if (!checked.valid) {
          bj::object evidence = checked.evidence;
          // The report outlines this op on the timeline.
          if (checked.first_bad_index) evidence["op_index"] = *checked.first_bad_index;
          AddViolation(invariant.name, checked.summary, std::move(evidence));
        }
      }
    }
  }

  void StopServices() {
    const auto order = spec_.StartOrder();
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      Service& service = services_[(*it)->name];
      if (service.running) {
        const int code = service.running->Stop(service.spec->stop_grace);
        Event("service_stopped", {{"service", service.spec->name}, {"code", code}});
        service.running.reset();
      }
      // What it wrote after the finals began counts too, as its file keeps it.
      if (!service.feed.output.empty()) EndHistory(service.feed);
    }
    // Every service is down: what their tables hold is all they decided.
    LogDecisions(true);
    if (decisions_) decisions_->FlushAll();
    for (auto& [name, service] : services_) {
      if (service.table) {
        service.table->Unlink();
        if (options_.reaper != nullptr) options_.reaper->ForgetFile(service.table->path());
      }
    }
  }

  void WriteHistoryFile() {
    if (auto ok = WriteHistory(history_, dir_->File("history.jsonl")); !ok) {
      Note("cannot write the history: " + ok.message());
    }
    history_written_ = history_.size();
  }

  void Finish(core::Status status) {
    if (dir_) {
      Quiesce();
      if (status) status = CheckHistoryLines();
      // Final checks may read the history: it is complete once the clients are stopped.
      WriteHistoryFile();
      if (status) CheckFinalInvariants();
    }
    StopProbes();
    for (Client& client : clients_) client.running.reset();
    StopServices();
    proxies_.reset();
    result_.duration_seconds = Seconds();
    if (!status) {
      result_.verdict = RunResult::Verdict::kError;
      result_.error = status.message();
    } else {
      result_.verdict =
          result_.violations.empty() ? RunResult::Verdict::kPass : RunResult::Verdict::kFail;
    }
    if (!dir_) return;
    Event("run_ended", {{"verdict", VerdictName(result_.verdict)}});
    if (history_.size() != history_written_) WriteHistoryFile();
    SampleShim();
    metrics_->Finish(result_.verdict == RunResult::Verdict::kPass, result_.duration_seconds);
    (void)dir_->Write("metrics.prom", metrics_->Text());
    (void)dir_->Write("result.json", ResultJson());
    if (auto report = WriteReport(dir_->path(), history_)) {
      result_.report = *report;
    } else {
      Note(report.message());
    }
    if (!options_.pushgateway.empty()) {
      if (auto ok = metrics_->Push(options_.pushgateway); !ok) Note(ok.message());
    }
  }

  std::string ResultJson() const {
    bj::object result;
    result["experiment"] = spec_.name;
    result["run_id"] = result_.run_id;
    result["seed"] = std::to_string(result_.seed);
    result["verdict"] = VerdictName(result_.verdict);
    result["started"] = Iso8601(started_wall_);
    result["duration_seconds"] = result_.duration_seconds;
    if (!result_.error.empty()) result["error"] = result_.error;
    bj::array violations;
    for (const Violation& violation : result_.violations) {
      violations.push_back(bj::object{{"invariant", violation.invariant},
                                      {"summary", violation.summary},
                                      {"evidence", violation.evidence}});
    }
    result["violations"] = std::move(violations);
    bj::object ops;
    ops["ok"] = ops_ok_;
    ops["failed"] = ops_failed_;
    ops["total"] = history_.size();
    ops["rejected_lines"] = result_.rejected_history_lines;
    if (result_.rejected_history_lines > 0) ops["first_rejected"] = result_.first_rejected_line;
    result["ops"] = std::move(ops);
    bj::array faults;
    if (faults_) {
      for (const std::string& id : faults_->applied()) faults.push_back(bj::value(id));
    }
    result["faults_applied"] = std::move(faults);
    return bj::serialize(result) + "\n";
  }

  const Spec& written_;  // as the file says; spec_ is it with this run's values filled in
  Spec spec_;
  const RunOptions& options_;
  RunResult result_;
  std::chrono::system_clock::time_point started_wall_;
  Clock::time_point started_;
  Clock::time_point clients_started_;
  std::optional<RunDir> dir_;
  std::unique_ptr<RunMetrics> metrics_;
  std::optional<RunValues> values_;  // set once the run directory exists
  // Holds the board released, for the main loop to carry out; shared with the board's
  // releasers, which may run on a proxy's thread.
  struct ShimRelease {
    std::string service;
    std::string hold;
    std::string why;
  };
  struct ShimReleases {
    std::mutex mutex;
    std::vector<ShimRelease> holds;
  };
  std::shared_ptr<ShimReleases> shim_releases_ = std::make_shared<ShimReleases>();
  proxy::HoldBoard own_holds_;  // the hold board of a run without proxies
  std::unique_ptr<proxy::ProxyServer> proxies_;
  // Shim holds parked on the board, by (service, ticket): their id there.
  std::map<std::pair<std::string, std::int64_t>, std::uint64_t> shim_parked_;
  std::map<std::string, Service> services_;
  std::vector<Client> clients_;
  std::vector<PlannedFault> plan_;
  core::PolledClock clock_;  // the faults' timers, fired by the main loop
  ProxyActuator proxy_actuator_{proxies_};
  ShimActuator shim_actuator_{services_};
  ProcessActuator process_actuator_{*this};
  std::optional<FaultScheduler> faults_;
  std::map<std::pair<std::string, std::string>, FaultLabel> labels_;  // (target, name)
  std::optional<DecisionLog> decisions_;
  std::uint64_t proxy_events_read_ = 0;
  History history_;
  std::size_t history_written_ = 0;  // ops in history.jsonl
  std::uint64_t ops_ok_ = 0;
  std::uint64_t ops_failed_ = 0;
  std::mutex violations_mutex_;
  std::mutex probe_mutex_;
  std::condition_variable probe_wake_;
  bool probes_stop_ = false;
  std::vector<std::thread> probes_;
};

}  // namespace

std::string_view VerdictName(RunResult::Verdict verdict) {
  switch (verdict) {
    case RunResult::Verdict::kPass:
      return "pass";
    case RunResult::Verdict::kFail:
      return "fail";
    case RunResult::Verdict::kError:
      return "error";
  }
  return "error";
}

RunResult RunExperiment(const Spec& spec, const RunOptions& options) {
  return Run(spec, options).Execute();
}

}  // namespace faultline::experiments
