#include "suite.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>

#include "faultline/core/text.h"
#include "net.h"
#include "process.h"

namespace faultline::bench {
namespace {

using namespace std::chrono_literals;

// The ideal relay (`faultline-bench relay`) runs the round trips only: what it adds to them
// is the least a proxy that sleeps in epoll_wait can add on this host, the floor for the
// round-trip target unless the proxy busy-polls.
// HAProxy runs twice: as Debian configures it (it copies through user space) and with
// `option splice-auto`, so that faultline's splice() is measured against a splicing proxy too.
enum Target { kDirect, kFaultline, kHaproxy, kHaproxySplice, kRelay };
constexpr int kTargetCount = 5;
constexpr const char* kTargetNames[kTargetCount] = {"direct", "faultline", "HAProxy",
                                                    "HAProxy splice-auto", "ideal relay"};
// The write sizes of the throughput rows: lines written one by one, a socket buffer's worth,
// and bulk. Small writes cost a system call each, so they send fewer bytes.
struct WriteSize {
  std::size_t bytes;
  const char* name;
  std::uint64_t share;  // of the plan's bulk bytes: 1/share
};
constexpr std::array<WriteSize, 3> kWriteSizes = {
    {{100, "100 B", 32}, {16 << 10, "16 KiB", 1}, {kBulkChunk, "1 MiB", 1}}};

constexpr int kRequestSize = 64;
constexpr int kToxicLatencyMs = 10;

// How much work each measurement does. Round-trip counts exclude the warm-up.
struct Plan {
  int reps;                   // repetitions of each timing measurement; the median is reported
  int rss_reps;               // repetitions of the idle-memory measurement, each on a fresh process
  int rtt_count, rtt_warmup;  // on 1 connection
  int fan_conns, fan_count, fan_warmup;
  std::uint64_t bulk_bytes;
  int idle_conns;
  int toxic_conns, toxic_count, toxic_warmup;
  int release_rounds, release_warmup;  // hold releases, a fresh pair of connections each
};

Plan MakePlan(bool quick) {
  if (quick) {
    return {.reps = 1,
            .rss_reps = 1,
            .rtt_count = 500,
            .rtt_warmup = 100,
            .fan_conns = 64,
            .fan_count = 2000,
            .fan_warmup = 200,
            .bulk_bytes = 32 << 20,
            .idle_conns = 500,
            .toxic_conns = 100,
            .toxic_count = 500,
            .toxic_warmup = 100,
            .release_rounds = 20,
            .release_warmup = 5};
  }
  return {.reps = 5,
          .rss_reps = 3,
          .rtt_count = 20000,
          .rtt_warmup = 2000,
          .fan_conns = 64,
          .fan_count = 50000,
          .fan_warmup = 5000,
          .bulk_bytes = std::uint64_t{2} << 30,
          .idle_conns = 10000,
          .toxic_conns = 100,
          .toxic_count = 10000,
          .toxic_warmup = 1000,
          .release_rounds = 200,
          .release_warmup = 20};
}

// What a target offers the benchmark: an echo service and a discard service.
struct Services {
  sockaddr_in echo;
  sockaddr_in discard;
};

// Median over repetitions, per target; empty when the target did not run.
using Medians = std::array<std::vector<double>, kTargetCount>;

void Progress(const std::string& line) { std::cerr << "[bench] " << line << std::endl; }

std::string Signed(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%+.*f", decimals, value);
  return text;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Runs `measure` `reps` times on each of `variants` variants, interleaved so that noise from
// other tenants of the host falls on all of them alike. `measure` returns one rep's figures;
// the result holds each variant's median figures.
std::vector<std::vector<double>> RepeatInterleaved(
    int reps, std::size_t variants,
    const std::function<std::vector<double>(std::size_t)>& measure) {
  std::vector<std::vector<std::vector<double>>> runs(variants);
  for (int rep = 0; rep < reps; ++rep) {
    for (std::size_t variant = 0; variant < variants; ++variant) {
      runs[variant].push_back(measure(variant));
    }
  }
  std::vector<std::vector<double>> medians(variants);
  for (std::size_t variant = 0; variant < variants; ++variant) {
    for (std::size_t figure = 0; figure < runs[variant].front().size(); ++figure) {
      std::vector<double> values;
      for (const auto& run : runs[variant]) values.push_back(run[figure]);
      medians[variant].push_back(Median(values));
    }
  }
  return medians;
}

// The same with the targets as the variants.
Medians Repeat(int reps, const std::vector<Target>& targets,
               const std::function<std::vector<double>(Target)>& measure) {
  std::vector<std::vector<double>> per_target =
      RepeatInterleaved(reps, targets.size(), [&](std::size_t i) { return measure(targets[i]); });
  Medians medians;
  for (std::size_t i = 0; i < targets.size(); ++i) medians[targets[i]] = std::move(per_target[i]);
  return medians;
}

// Raises the open-file limit as far as the kernel lets us; children inherit it.
rlim_t RaiseFdLimit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  const rlimit wanted{std::max<rlim_t>(limit.rlim_max, 1 << 16),
                      std::max<rlim_t>(limit.rlim_max, 1 << 16)};
  if (::setrlimit(RLIMIT_NOFILE, &wanted) == 0) return wanted.rlim_cur;
  limit.rlim_cur = limit.rlim_max;  // raising the hard limit needs CAP_SYS_RESOURCE
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

std::string SelfPath() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) Die("cannot find my own executable in /proc/self/exe");
  return std::string(path, static_cast<std::size_t>(n));
}

// The address a `faultline-bench echo` child reports once it listens.
sockaddr_in ListeningAddress(Child& child) {
  const std::string line = child.WaitForLine("port ", 5s);
  return ParseLoopback("127.0.0.1:" + line.substr(line.find("port ") + 5));
}

void WaitUntilAccepting(Child& child, const sockaddr_in& address) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!TryConnect(address).valid()) {
    child.CheckRunning();
    if (std::chrono::steady_clock::now() > deadline) {
      Die("nothing accepts on " + Format(address) + " after 10 s; output:\n" + child.Log());
    }
    std::this_thread::sleep_for(20ms);
  }
}

struct Faultline {
  Child child;
  sockaddr_in api;
};

Faultline StartFaultline(const std::string& path, unsigned threads, const std::string& busy_poll) {
  // Port 0: the proxy binds a free API port and prints it, so there is no race for one.
  std::vector<std::string> argv = {path,     "proxy", "--host",    "127.0.0.1",
                                   "--port", "0",     "--threads", std::to_string(threads),
                                   "--seed", "1"};
  if (!busy_poll.empty()) {
    argv.push_back("--busy-poll");
    argv.push_back(busy_poll);
  }
  Child child = Child::Spawn(argv, "faultline proxy");
  const std::string line = child.WaitForLine("API on http://", 10s);
  const auto begin = line.find("http://") + 7;
  const sockaddr_in api = ParseLoopback(line.substr(begin, line.find(',', begin) - begin));
  return {std::move(child), api};
}

sockaddr_in CreateProxy(const sockaddr_in& api, const std::string& name,
                        const sockaddr_in& upstream) {
  const HttpReply reply =
      HttpCall(api, "POST", "/proxies",
               R"({"name":")" + name + R"(","listen":"127.0.0.1:0","upstream":")" +
                   Format(upstream) + R"("})");
  if (reply.status != 201) {
    Die("creating proxy " + name + ": HTTP " + std::to_string(reply.status) + " " + reply.body);
  }
  return ParseLoopback(JsonString(reply.body, "listen"));
}

void AddToxic(const sockaddr_in& api, const std::string& proxy, const std::string& toxic) {
  const HttpReply reply = HttpCall(api, "POST", "/proxies/" + proxy + "/toxics", toxic);
  if (reply.status / 100 != 2) {
    Die("adding " + toxic + " to " + proxy + ": HTTP " + std::to_string(reply.status) + " " +
        reply.body);
  }
}

void AddLatencyToxic(const sockaddr_in& api, const std::string& proxy, int latency_ms) {
  AddToxic(api, proxy,
           R"({"type":"latency","stream":"downstream","attributes":{"latency":)" +
               std::to_string(latency_ms) + R"(,"jitter":0}})");
}

// Line-framed drop toxics that never fire, on the upstream direction that the bulk sender
// fills: what it costs the proxy to look at every byte. A frame number never reached is
// the counting path (every '\n' counted, no frame visited); a regex never matching is tried
// on every line.
constexpr const char* kNeverReachedToxic =
    R"({"type":"drop","stream":"upstream","attributes":{"framing":"line","frame":1000000000000}})";
constexpr const char* kNeverMatchingToxic =
    R"({"type":"drop","stream":"upstream","attributes":{"framing":"line","match":"NEVER"}})";

// Proxy a holds its first line until proxy b's first line has passed b's point "sent".
constexpr const char* kHoldToxic =
    R"({"name":"wait","type":"hold","stream":"upstream","attributes":)"
    R"({"framing":"line","frame":1,"release_on":"b/sent"}})";
constexpr const char* kPointToxic =
    R"({"name":"sent","type":"point","stream":"upstream","attributes":)"
    R"({"framing":"line","frame":1}})";

void SendLine(const Fd& fd, std::string_view line) {
  // A few bytes always fit an idle socket's send buffer.
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(line.size())) {
    Die("cannot send a line to a proxy");
  }
}

// Per round, a fresh connection to each of proxies `a` and `b`, both in front of `service`,
// and the time from B's line reaching the service to A's, in µs; the last `rounds` rounds.
// With `held`, a holds A until B has passed b's point: A goes first and B once faultline's
// API (`api`) lists A as parked, so the gap is the release. Without, B and then A go at once:
// the gap two messages on two proxied connections have anyway.
std::vector<double> MeasureReleaseGaps(LineService& service, const sockaddr_in& api,
                                       const sockaddr_in& a, const sockaddr_in& b, bool held,
                                       int rounds, int warmup) {
  std::vector<double> gaps_us;
  gaps_us.reserve(static_cast<std::size_t>(rounds));
  for (int round = 0; round < warmup + rounds; ++round) {
    std::vector<Fd> fds;
    fds.push_back(Connect(a));
    fds.push_back(Connect(b));
    // The proxies connect upstream when they accept; a line sent before that would time the
    // connect too. Which connection is whose shows in the lines.
    fds.push_back(service.Accept());
    fds.push_back(service.Accept());
    if (held) {
      SendLine(fds[0], "A\n");
      // A is parked well within the sleep, but on a busy host not always: if B passed the
      // point first, the hold would let A through at once and the gap would time something
      // else. The API is asked only after the sleep, so that it rarely has to be asked twice.
      std::this_thread::sleep_for(1ms);
      for (const auto deadline = std::chrono::steady_clock::now() + 10s;
           JsonString(HttpCall(api, "GET", "/holds", "").body, "hold").empty();) {
        if (std::chrono::steady_clock::now() > deadline) Die("A was not parked after 10 s");
        std::this_thread::sleep_for(100us);
      }
      SendLine(fds[1], "B\n");
    } else {
      SendLine(fds[1], "B\n");
      SendLine(fds[0], "A\n");
    }
    // Asleep while the lines travel, so as to take no CPU from the proxy: the arrival times
    // are the kernel's, and reading the lines later loses nothing.
    std::this_thread::sleep_for(1ms);
    LineService::Line first = service.ReadLine(fds[2]);
    LineService::Line second = service.ReadLine(fds[3]);
    if (first.text == "A") std::swap(first, second);
    if (first.text != "B" || second.text != "A") {
      Die("the line service got '" + first.text + "' and '" + second.text + "' instead of A and B");
    }
    // The hold's whole point: the documentation promises this order every time.
    if (held && second.at < first.at) Die("A reached the service before B: the hold let it go");
    if (round >= warmup) {
      gaps_us.push_back(std::chrono::duration<double, std::micro>(second.at - first.at).count());
    }
    CloseWithReset(fds);
  }
  return gaps_us;
}

std::string FindHaproxy(const std::string& configured) {
  if (!configured.empty()) return configured;
  for (const char* path : {"/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

struct Haproxy {
  Child child;
  Services services;
};

Haproxy StartHaproxy(const std::string& path, unsigned threads, int maxconn,
                     const Services& upstream, bool splice) {
  const std::vector<std::uint16_t> ports = FreePorts(2);
  const std::string config =
      "global\n  nbthread " + std::to_string(threads) + "\n  maxconn " + std::to_string(maxconn) +
      "\n" +
      // Each spliced connection takes a pipe, and HAProxy reserves descriptors for maxconn/4
      // of them by default; one bulk connection splices at a time, so a few pipes do, and
      // the open-file limit stays the same as without splicing.
      (splice ? "  maxpipes 64\n" : "") +
      "\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n"
      "  timeout server 60s\n" +
      (splice ? "  option splice-auto\n" : "") +
      "\nlisten echo\n  bind 127.0.0.1:" + std::to_string(ports[0]) + "\n  server echo " +
      Format(upstream.echo) + "\n\nlisten discard\n  bind 127.0.0.1:" + std::to_string(ports[1]) +
      "\n  server discard " + Format(upstream.discard) + "\n";
  // HAProxy reads its configuration once at start; a memory file leaves nothing behind.
  Fd config_file(::memfd_create("haproxy.cfg", 0));
  if (!config_file.valid() || ::write(config_file.get(), config.data(), config.size()) !=
                                  static_cast<ssize_t>(config.size())) {
    Die("cannot write the HAProxy configuration");
  }
  Child child =
      Child::Spawn({path, "-db", "-f", "/dev/fd/" + std::to_string(config_file.get())}, "haproxy");
  const Services services{Loopback(ports[0]), Loopback(ports[1])};
  WaitUntilAccepting(child, services.echo);
  WaitUntilAccepting(child, services.discard);
  return {std::move(child), services};
}

// Growth of the proxy's resident memory per connection while `conns` connections through it
// sit idle, each after one round trip.
double IdleKibPerConnection(pid_t proxy, const sockaddr_in& echo, int conns) {
  // Per-thread buffers and allocator pools should exist before the baseline is taken.
  MeasureRoundTrips(echo, 64, 640, 0, kRequestSize);
  std::this_thread::sleep_for(200ms);
  const long before = ReadRssKib(proxy);
  // In batches, each finished by a round trip, so the accept backlog never overflows.
  constexpr int kBatch = 250;
  std::vector<Fd> fds;
  fds.reserve(static_cast<std::size_t>(conns));
  while (fds.size() < static_cast<std::size_t>(conns)) {
    const std::size_t first = fds.size();
    const int batch = std::min<int>(kBatch, conns - static_cast<int>(first));
    for (int i = 0; i < batch; ++i) fds.push_back(Connect(echo));
    RunClosedLoop(std::span(fds).subspan(first), batch, 0, kRequestSize);
  }
  const long after = ReadRssKib(proxy);
  CloseWithReset(fds);
  return static_cast<double>(after - before) / conns;
}

std::string Cell(const std::optional<double>& value, int decimals, const char* absent = "n/a") {
  return value ? core::FormatFixed(*value, decimals) : absent;
}

std::string Ratio(const std::optional<double>& a, const std::optional<double>& b) {
  return a && b && *b != 0 ? core::FormatFixed(*a / *b, 2) + "×" : "n/a";
}

struct Row {
  std::string label;
  std::string writes;  // what each send is
  std::array<std::optional<double>, kTargetCount> values;
  int decimals;
  bool ratio_to_direct = true;  // false where the quotient of the two would mean nothing
};

std::optional<double> Figure(const Medians& medians, Target target, std::size_t index,
                             double scale = 1) {
  if (medians[target].size() <= index) return std::nullopt;
  return medians[target][index] * scale;
}

Row MakeRow(std::string label, std::string writes, const Medians& medians, std::size_t index,
            int decimals, double scale = 1) {
  Row row{std::move(label), std::move(writes), {}, decimals};
  for (int t = 0; t < kTargetCount; ++t) {
    row.values[t] = Figure(medians, static_cast<Target>(t), index, scale);
  }
  return row;
}

void PrintTarget(const std::string& name, const std::string& goal,
                 const std::optional<double>& measured, const std::string& shown, bool met) {
  std::string verdict = "not measured";
  if (measured) verdict = met ? "met" : "**missed**";
  std::cout << "| " << name << " | " << goal << " | " << (measured ? shown : "n/a") << " | "
            << verdict << " |\n";
}

}  // namespace

int RunSuite(const SuiteOptions& options) {
  InstallChildCleanup();
  Plan plan = MakePlan(options.quick);
  const unsigned threads =
      options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());

  // A proxy holds two descriptors per connection, plus some of its own (HAProxy: its
  // maxconn is the idle connections and 100 more, and a splicing one keeps pipes too).
  constexpr rlim_t kFdsBesidesConnections = 512;
  const rlim_t fd_limit = RaiseFdLimit();
  if (static_cast<rlim_t>(2 * plan.idle_conns) + kFdsBesidesConnections > fd_limit) {
    plan.idle_conns = static_cast<int>((fd_limit - kFdsBesidesConnections) / 2);
    Progress("open-file limit is " + std::to_string(fd_limit) + ": idle memory is measured at " +
             std::to_string(plan.idle_conns) + " connections");
  }

  const std::string self = SelfPath();
  Child echo = Child::Spawn({self, "echo", "--port", "0"}, "echo server");
  Child discard = Child::Spawn({self, "echo", "--port", "0", "--discard"}, "discard server");
  // What a 10 ms delay costs with no proxy at all: the yardstick for the toxic.
  Child slow_echo =
      Child::Spawn({self, "echo", "--port", "0", "--delay-ms", std::to_string(kToxicLatencyMs)},
                   "delaying echo server");
  std::array<Services, kTargetCount> services;
  services[kDirect] = {ListeningAddress(echo), ListeningAddress(discard)};
  const sockaddr_in server_delay = ListeningAddress(slow_echo);
  Child relay = Child::Spawn(
      {self, "relay", "--port", "0", "--upstream", Format(services[kDirect].echo)}, "ideal relay");
  services[kRelay].echo = ListeningAddress(relay);

  Faultline faultline = StartFaultline(options.faultline, threads, options.busy_poll);
  services[kFaultline] = {CreateProxy(faultline.api, "echo", services[kDirect].echo),
                          CreateProxy(faultline.api, "discard", services[kDirect].discard)};
  // A proxy of its own, so the toxic never touches the other measurements.
  const sockaddr_in toxic = CreateProxy(faultline.api, "toxic", services[kDirect].echo);
  AddLatencyToxic(faultline.api, "toxic", kToxicLatencyMs);
  // The toxics that look at every byte, each on a proxy of its own beside the plain discard
  // proxy, their yardstick.
  const std::array<std::pair<const char*, sockaddr_in>, 3> framed_proxies = {{
      {"no toxic", services[kFaultline].discard},
      {"line drop, frame never reached",
       CreateProxy(faultline.api, "framed", services[kDirect].discard)},
      {"line drop, regex never matching",
       CreateProxy(faultline.api, "matched", services[kDirect].discard)},
  }};
  AddToxic(faultline.api, "framed", kNeverReachedToxic);
  AddToxic(faultline.api, "matched", kNeverMatchingToxic);
  // The hold's pair of proxies, and a pair without toxics for the gap two messages on two
  // connections have anyway.
  LineService line_service;
  const std::array<sockaddr_in, 2> held_pair = {
      CreateProxy(faultline.api, "a", line_service.address()),
      CreateProxy(faultline.api, "b", line_service.address())};
  AddToxic(faultline.api, "a", kHoldToxic);
  AddToxic(faultline.api, "b", kPointToxic);
  const std::array<sockaddr_in, 2> plain_pair = {
      CreateProxy(faultline.api, "plain_a", line_service.address()),
      CreateProxy(faultline.api, "plain_b", line_service.address())};

  std::vector<Target> targets = {kDirect, kFaultline};
  const std::string haproxy_path = FindHaproxy(options.haproxy);
  // Room for the idle connections and the warm-up beside them, and no more: HAProxy
  // refuses to start if the open-file limit cannot cover its maxconn.
  const int haproxy_maxconn = plan.idle_conns + 100;
  std::optional<Haproxy> haproxy;
  std::optional<Haproxy> haproxy_splice;
  if (haproxy_path.empty()) {
    Progress("HAProxy is not installed (Debian package haproxy): its columns are n/a");
  } else {
    haproxy = StartHaproxy(haproxy_path, threads, haproxy_maxconn, services[kDirect], false);
    haproxy_splice = StartHaproxy(haproxy_path, threads, haproxy_maxconn, services[kDirect], true);
    services[kHaproxy] = haproxy->services;
    services[kHaproxySplice] = haproxy_splice->services;
    targets.push_back(kHaproxy);
    targets.push_back(kHaproxySplice);
  }
  // The relay has no discard service and no toxics, so it joins the round trips only,
  // interleaved with the others so that it shares their noise.
  std::vector<Target> round_trip_targets = targets;
  round_trip_targets.push_back(kRelay);
  Progress("echo " + Format(services[kDirect].echo) + ", faultline " +
           Format(services[kFaultline].echo) + " (" + std::to_string(threads) + " threads)" +
           (haproxy ? ", HAProxy " + Format(services[kHaproxy].echo) : "") + ", ideal relay " +
           Format(services[kRelay].echo) + "; " + std::to_string(plan.reps) + " repetitions");

  auto round_trips = [&](const std::string& what, const sockaddr_in& address, int conns, int count,
                         int warmup, std::chrono::microseconds stagger = {}) {
    std::vector<double> us =
        MeasureRoundTrips(address, conns, count, warmup, kRequestSize, stagger);
    const double p50 = Percentile(us, 0.5);
    const double p99 = Percentile(us, 0.99);
    Progress(what + ": p50 " + core::FormatFixed(p50, 1) + " µs, p99 " + core::FormatFixed(p99, 1) +
             " µs");
    return std::vector<double>{p50, p99};
  };

  const Medians single = Repeat(plan.reps, round_trip_targets, [&](Target t) {
    return round_trips(std::string("round trips, 1 conn, ") + kTargetNames[t], services[t].echo, 1,
                       plan.rtt_count, plan.rtt_warmup);
  });
  const Medians fan = Repeat(plan.reps, round_trip_targets, [&](Target t) {
    return round_trips(
        "round trips, " + std::to_string(plan.fan_conns) + " conns, " + kTargetNames[t],
        services[t].echo, plan.fan_conns, plan.fan_count, plan.fan_warmup);
  });
  // One figure per write size.
  const Medians bulk = Repeat(plan.reps, targets, [&](Target t) {
    std::vector<double> figures;
    for (const WriteSize& write : kWriteSizes) {
      const double mbps =
          MeasureThroughput(services[t].discard, plan.bulk_bytes / write.share, write.bytes);
      Progress(std::string("throughput, ") + write.name + " writes, " + kTargetNames[t] + ": " +
               core::FormatFixed(mbps, 0) + " MB/s");
      figures.push_back(mbps);
    }
    return figures;
  });
  // Direct here is the echo server delaying its own replies. Starts are staggered over
  // one delay so that the connections behave like independent clients, not one burst.
  const Medians delayed = Repeat(plan.reps, {kDirect, kFaultline}, [&](Target t) {
    return round_trips(std::to_string(kToxicLatencyMs) + " ms " +
                           (t == kDirect ? "server-side delay" : "toxic") + ", " +
                           std::to_string(plan.toxic_conns) + " conns, " + kTargetNames[t],
                       t == kDirect ? server_delay : toxic, plan.toxic_conns, plan.toxic_count,
                       plan.toxic_warmup, std::chrono::milliseconds(kToxicLatencyMs));
  });

  const std::vector<std::vector<double>> framed =
      RepeatInterleaved(plan.reps, framed_proxies.size(), [&](std::size_t variant) {
        const auto& [name, address] = framed_proxies[variant];
        const double mbps = MeasureThroughput(address, plan.bulk_bytes);
        Progress(std::string("throughput, faultline, ") + name + ": " + core::FormatFixed(mbps, 0) +
                 " MB/s");
        return std::vector<double>{mbps};
      });
  // Variant 0 sends B and A back to back through the plain pair, variant 1 releases A.
  const std::vector<std::vector<double>> release =
      RepeatInterleaved(plan.reps, 2, [&](std::size_t variant) {
        const bool held = variant == 1;
        const auto& [a, b] = held ? held_pair : plain_pair;
        std::vector<double> us = MeasureReleaseGaps(line_service, faultline.api, a, b, held,
                                                    plan.release_rounds, plan.release_warmup);
        const double p50 = Percentile(us, 0.5);
        const double p99 = Percentile(us, 0.99);
        Progress(std::string(held ? "hold release to held data, faultline"
                                  : "B then A back to back, faultline without toxics") +
                 ": p50 " + core::FormatFixed(p50, 1) + " µs, p99 " + core::FormatFixed(p99, 1) +
                 " µs");
        return std::vector<double>{p50, p99};
      });

  // Fresh processes, so memory the allocator kept from earlier runs cannot hide the growth.
  // Every target but the first, direct, which has no proxy process to weigh.
  const std::vector<Target> proxies(targets.begin() + 1, targets.end());
  const Medians idle = Repeat(plan.rss_reps, proxies, [&](Target t) {
    double kib = 0;
    if (t == kFaultline) {
      Faultline fresh = StartFaultline(options.faultline, threads, options.busy_poll);
      const sockaddr_in echo_proxy = CreateProxy(fresh.api, "echo", services[kDirect].echo);
      kib = IdleKibPerConnection(fresh.child.pid(), echo_proxy, plan.idle_conns);
    } else {
      Haproxy fresh = StartHaproxy(haproxy_path, threads, haproxy_maxconn, services[kDirect],
                                   t == kHaproxySplice);
      kib = IdleKibPerConnection(fresh.child.pid(), fresh.services.echo, plan.idle_conns);
    }
    Progress("idle memory, " + std::to_string(plan.idle_conns) + " conns, " + kTargetNames[t] +
             ": " + core::FormatFixed(kib, 2) + " KiB/conn");
    return std::vector<double>{kib};
  });

  const std::string conns = std::to_string(plan.fan_conns) + " conns";
  const std::string toxic_label = std::to_string(kToxicLatencyMs) + " ms latency toxic¹, " +
                                  std::to_string(plan.toxic_conns) + " conns";
  const std::string request = std::to_string(kRequestSize) + " B";
  // The framed rows send as the bulk rows' largest writes do (MeasureThroughput's default).
  const std::string line = std::to_string(kBulkLine) + " B lines, " + kWriteSizes.back().name;
  std::vector<Row> rows = {
      MakeRow("round trip p50, 1 conn (µs)", request, single, 0, 1),
      MakeRow("round trip p99, 1 conn (µs)", request, single, 1, 1),
      MakeRow("round trip p50, " + conns + " (µs)", request, fan, 0, 1),
      MakeRow("round trip p99, " + conns + " (µs)", request, fan, 1, 1),
  };
  for (std::size_t i = 0; i < kWriteSizes.size(); ++i) {
    rows.push_back(MakeRow("throughput, 1 conn (MB/s)", kWriteSizes[i].name, bulk, i, 0));
  }
  const std::vector<Row> more = {
      MakeRow("RSS per idle conn at " + std::to_string(plan.idle_conns) + " conns (KiB)", request,
              idle, 0, 2),
      MakeRow(toxic_label + ", p50 (ms)", request, delayed, 0, 3, 1e-3),
      MakeRow(toxic_label + ", p99 (ms)", request, delayed, 1, 3, 1e-3),
      Row{"throughput, 1 conn, line drop, frame never reached³ (MB/s)",
          line,
          {framed[0][0], framed[1][0]},
          0},
      Row{"throughput, 1 conn, line drop, regex never matching³ (MB/s)",
          line,
          {framed[0][0], framed[2][0]},
          0},
      Row{"hold release to held data at the service⁴, p50 (µs)",
          "one line",
          {release[0][0], release[1][0]},
          1,
          false},
      Row{"hold release to held data at the service⁴, p99 (µs)",
          "one line",
          {release[0][1], release[1][1]},
          1,
          false},
  };
  rows.insert(rows.end(), more.begin(), more.end());

  std::cout << "\n## faultline-bench" << (options.quick ? " (quick)" : "") << "\n\n"
            << "Medians of " << plan.reps << " runs (idle memory: " << plan.rss_reps
            << "), targets interleaved; closed-loop round trips; faultline --threads " << threads
            << (options.busy_poll.empty() ? "" : " --busy-poll " + options.busy_poll)
            << ", HAProxy nbthread " << threads << "; " << std::thread::hardware_concurrency()
            << " CPUs; bulk " << (plan.bulk_bytes >> 20) << " MiB of " << kBulkLine
            << "-byte lines a run (" << (plan.bulk_bytes / kWriteSizes[0].share >> 20) << " MiB in "
            << kWriteSizes[0].name << " writes).\n\n"
            << "| measurement | writes | direct | faultline | HAProxy | HAProxy splice-auto | "
               "ideal relay² | faultline ÷ direct | faultline ÷ HAProxy | faultline ÷ HAProxy "
               "splice-auto |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const Row& row : rows) {
    std::cout << "| " << row.label << " | " << row.writes << " | "
              << Cell(row.values[kDirect], row.decimals) << " | "
              << Cell(row.values[kFaultline], row.decimals) << " | "
              << Cell(row.values[kHaproxy], row.decimals) << " | "
              << Cell(row.values[kHaproxySplice], row.decimals) << " | "
              << Cell(row.values[kRelay], row.decimals, "") << " | "
              << (row.ratio_to_direct ? Ratio(row.values[kFaultline], row.values[kDirect]) : "")
              << " | " << Ratio(row.values[kFaultline], row.values[kHaproxy]) << " | "
              << Ratio(row.values[kFaultline], row.values[kHaproxySplice]) << " |\n";
  }
  std::cout << "\n¹ direct: the echo server itself delays each reply by " << kToxicLatencyMs
            << " ms (one timerfd), the least a delay costs on this host.\n"
            << "² faultline-bench relay: one thread, edge-triggered epoll, recv and send, nothing "
               "else; what it adds to direct is the least a user-space relay that sleeps in "
               "epoll_wait adds on this host (busy polling can go below it).\n"
            << "³ direct: faultline's discard proxy without a toxic, interleaved with these runs. "
               "Drop toxics (line framing, upstream) that never fire: one waits for line "
               "10^12, so it counts every line; the other tries the regex NEVER on every line.\n"
            << "⁴ From B's line reaching the service to A's, by the kernel's receive "
               "timestamps: proxy a holds A, sent first, until B passes a point on proxy b; B is "
               "sent once the API lists A as parked. direct: two proxies without toxics, B then A "
               "sent at once, the gap two messages on two connections have anyway. "
            << plan.release_rounds << " rounds a run, fresh connections each"
            << (threads > 1 ? "; faultline hands connections to its threads in turn, so a and b "
                              "are served by different ones and the release crosses threads"
                            : "")
            << ".\n";

  std::cout << "\n| target | goal | measured | verdict |\n|---|---|---|---|\n";
  for (std::size_t i = 0; i < kWriteSizes.size(); ++i) {
    for (const Target haproxy_target : {kHaproxy, kHaproxySplice}) {
      std::optional<double> speedup;
      if (const auto ours = Figure(bulk, kFaultline, i), theirs = Figure(bulk, haproxy_target, i);
          ours && theirs) {
        speedup = *ours / *theirs;
      }
      PrintTarget(std::string("throughput vs ") + kTargetNames[haproxy_target] + ", " +
                      kWriteSizes[i].name + " writes",
                  "≥ 1.5×", speedup, speedup ? core::FormatFixed(*speedup, 2) + "×" : "",
                  speedup && *speedup >= 1.5);
    }
  }
  const double added = *Figure(single, kFaultline, 0) - *Figure(single, kDirect, 0);
  const double relay_added = *Figure(single, kRelay, 0) - *Figure(single, kDirect, 0);
  PrintTarget("added round trip p50, 1 conn", "≤ 25 µs", added,
              core::FormatFixed(added, 1) + " µs (ideal relay " +
                  core::FormatFixed(relay_added, 1) + " µs)",
              added <= 25);
  const std::optional<double> kib = Figure(idle, kFaultline, 0);
  PrintTarget("RSS per idle connection", "≤ 16 KiB", kib,
              kib ? core::FormatFixed(*kib, 2) + " KiB" : "", kib && *kib <= 16);
  // The host's own excess (direct column) is shown alongside: on a loaded VM it can be most
  // of the toxic's.
  for (const auto& [index, name, goal, limit] :
       {std::tuple{std::size_t{0}, "p50", "≤ +0.3 ms", 0.3}, {1, "p99", "≤ +1 ms", 1.0}}) {
    const double excess = *Figure(delayed, kFaultline, index, 1e-3) - kToxicLatencyMs;
    const double floor = *Figure(delayed, kDirect, index, 1e-3) - kToxicLatencyMs;
    PrintTarget(std::string("10 ms toxic, ") + name + " excess", goal, excess,
                Signed(excess, 3) + " ms (host floor " + Signed(floor, 3) + " ms)",
                excess <= limit);
  }
  const double kept = framed[1][0] / framed[0][0];
  PrintTarget("throughput, line drop toxic never firing", "≥ 90% of no toxic", kept,
              core::FormatFixed(kept * 100, 1) + "% (" + core::FormatFixed(framed[1][0], 0) +
                  " of " + core::FormatFixed(framed[0][0], 0) + " MB/s)",
              kept >= 0.9);
  const double release_p50 = release[1][0];
  PrintTarget("hold release p50", "≤ 50 µs", release_p50,
              core::FormatFixed(release_p50, 1) + " µs (back to back " +
                  core::FormatFixed(release[0][0], 1) + " µs)",
              release_p50 <= 50);
  std::cout << std::flush;
  return 0;
}

}  // namespace faultline::bench
