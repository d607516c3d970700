#pragma once
// A fault, the one model every part of faultline speaks: where it acts (its selector), what
// it does (its action: a kind of core/kinds.h with its settings) and how often and for how
// long (its gate). Its text is one line, the same on the command line, in rule files, in the
// shim's control table, in a spec and in the event log:
//
//   [rule ID:] [TARGET] [SELECTOR...] -> [P%]ACTION[(ARGS)] [GATE...]
//
//   rule f1: proxy store_a downstream conn=3 -> 20%drop(framing=line, match=^SET) lease=3s
//   proxy db upstream -> latency(latency=800ms, jitter=10ms)
//   service store -> pause lease=2s
//   clients workload1 -> kill
//   service store -> kill(restart=1, restart_after=1s)
//   service store send peer=127.0.0.1:6379 -> 20%delay(uniform 5ms 50ms) lease=30s
//   rule r2: point:plan.apply after=1 -> hold(h1) timeout=10s
//   fsync path=/var/lib/app/* -> delay(50ms)
//   connect port=5432 -> fail(ECONNREFUSED) times=3
//   clock_gettime,gettimeofday,time clock=all -> skew(+1h)
//
// TARGET   proxy NAME [upstream|downstream]: a proxy's direction (downstream by default)
//          service NAME: a service; clients NAME: a workload's clients
//          none: the process the shim runs in (a rule)
// SELECTOR on a proxy: conn=K (its k-th connection) every=N (every n-th) client=IP
//          on calls: CALLS, comma-separated names from KnownCalls(), or one point:NAME,
//          then filters: fd=socket|file|pipe  path=GLOB  peer=ADDR[:PORT]  port=N
//          thread=GLOB  clock=realtime|monotonic|all (clock calls; default realtime)
// ACTION   on a proxy: a toxic type with its attributes, NAME=VALUE comma-separated, written
//          as people write them (latency=800ms, probability=20%, framing=line);
//          on a service or clients with no calls: pause, or kill with restart=1 and
//          restart_after=DURATION;
//          on calls: delay(DISTRIBUTION)  fail(ERRNO)  short(BYTES)  hold(NAME)
//          skew(OFFSET[, RATE])
// P%       the chance it acts on each thing it meets: a connection for a proxy, a call for
//          a rule (default 100%)
// GATE     lease=DURATION (the fault lapses after it)
//          on calls: after=N (let the first N matching calls pass)  times=N (act at most N
//          times)  timeout=DURATION (hold; default 60s)  until=OWNER/POINT (hold: in an
//          experiment, the runner releases the n-th thread parked here once that point has
//          been reached n times: a proxy's hold or point toxic PROXY/TOXIC, or another
//          service's SERVICE/RULE or SERVICE/HOLD)
//
// Parsing is pure: no I/O, no exceptions; errors name the offending word.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/core/attributes.h"
#include "faultline/core/calls.h"
#include "faultline/core/distribution.h"
#include "faultline/core/duration.h"
#include "faultline/core/kinds.h"
#include "faultline/core/probability.h"
#include "faultline/core/result.h"

namespace faultline::core {

// What a fault's target names.
enum class TargetKind : std::uint8_t {
  kSelf,     // the process the shim runs in: a rule
  kProxy,    // a proxy, one direction of its connections
  kService,  // a service: its process, or its calls
  kClients,  // every client of a workload
};
// A proxy's directions: upstream is client -> server, downstream server -> client
// (Toxiproxy's default).
enum class Stream : std::uint8_t { kUpstream, kDownstream };
std::string_view StreamName(Stream stream);
std::optional<Stream> ParseStream(std::string_view text);

// Which connections of a proxy a fault acts on (all of them by default). Connections are
// numbered from 1 in the order the proxy accepted them.
struct Connections {
  std::uint64_t connection = 0;  // only the k-th connection (0: any)
  std::uint64_t every = 0;       // only every n-th: n, 2n, 3n... (0: any)
  std::string client;            // only connections from this IP address ("": any)

  bool any() const { return connection == 0 && every == 0 && client.empty(); }
  bool Matches(std::uint64_t connection_index, std::string_view client_ip) const;
  friend bool operator==(const Connections&, const Connections&) = default;
};

enum class FdKind : std::uint8_t { kAny, kSocket, kFile, kPipe };
enum class ClockKind : std::uint8_t { kRealtime, kMonotonic, kAll };

struct FaultSelector {
  TargetKind target_kind = TargetKind::kSelf;
  std::string target;  // the proxy, service or workload; empty for kSelf
  // On a proxy.
  Stream stream = Stream::kDownstream;
  Connections connections;
  // On calls: either calls or a point, narrowed by filters.
  std::vector<std::string> calls;
  std::string point;  // a named point (faultline_point), or empty
  FdKind fd = FdKind::kAny;
  std::string path;             // glob; empty: any
  std::string peer_address;     // IP literal; empty: any
  std::uint16_t peer_port = 0;  // 0: any
  std::string thread;           // glob on the thread's name; empty: any
  ClockKind clock = ClockKind::kRealtime;

  bool on_calls() const { return !calls.empty() || !point.empty(); }
  friend bool operator==(const FaultSelector&, const FaultSelector&) = default;
};

// What a fault on calls does to each call it acts on.
enum class CallAction : std::uint8_t { kDelay, kFail, kShort, kHold, kSkew };
inline constexpr Duration kDefaultHoldTimeout = std::chrono::seconds(60);

struct FaultAction {
  // Its row: a toxic type, `rule` (delay, fail, short, hold on calls), `skew`, `pause`, `kill`.
  const KindInfo* kind = nullptr;
  // A proxy's or a kill's settings, as given (the kind's defaults are not filled in), each
  // checked against the kind's attributes.
  Attributes settings;
  // On calls.
  CallAction on_call = CallAction::kDelay;
  Distribution delay = Distribution::Constant(Duration(0));
  int error = 0;                           // fail: an errno value
  std::uint64_t short_bytes = 0;           // short: at most this many bytes move
  std::string hold;                        // hold: its name
  Duration skew_offset{0};                 // skew: added to the clock (may be negative)
  double skew_rate = 1.0;                  // skew: how fast the skewed clock runs from now on
  Duration timeout = kDefaultHoldTimeout;  // hold: released after it
  std::string until;  // hold: the point that releases it (the runner acts on it), or empty

  friend bool operator==(const FaultAction&, const FaultAction&) = default;
};

struct FaultGate {
  Probability probability = Probability::Always();
  std::uint64_t after = 0;  // calls: let the first N pass
  std::uint64_t times = 0;  // calls: act at most N times (0: no limit)
  std::optional<Duration> lease;

  friend bool operator==(const FaultGate&, const FaultGate&) = default;
};

struct Fault {
  std::string id;  // empty: the installer names it
  FaultSelector where;
  FaultAction action;
  FaultGate gate;

  Family family() const { return action.kind->family; }
  friend bool operator==(const Fault&, const Fault&) = default;
};

// Parses one line; the error names what is wrong and suggests the nearest known name.
Result<Fault> ParseFault(std::string_view line);
// The canonical line: ParseFault(FormatFault(f)) gives f back.
std::string FormatFault(const Fault& fault);
// Parses a file of faults: one per line, blank lines and '#' comments skipped, each line
// also passing `check` when one is given (CheckRule for a rules file). An error gives the
// 1-based line number.
Result<std::vector<Fault>> ParseFaults(std::string_view text,
                                       Status (*check)(const Fault&) = nullptr);

// A kind's settings as a fault line writes them, NAME=VALUE comma-separated
// ("latency=800ms, jitter=10ms"), each read as its attribute is written (a duration always
// with its unit) and all checked against the kind's attributes. Only the given ones are kept:
// the kind's defaults are not filled in.
Result<Attributes> ReadSettings(const KindInfo& kind, std::string_view text);

// A kill's settings: whether the service is started again (restart=1, or any restart_after),
// and how long after the kill.
bool Restarts(const Fault& kill);
Duration RestartAfter(const Fault& kill);

// A skew of every clock a program reads the time with (clock_gettime on every clock,
// gettimeofday, time), as skew(OFFSET[, RATE]) reads them: "+1h", "-30s"; "2" or "x2" (empty:
// the clock keeps its pace). The fault names no target.
Result<Fault> SkewFault(std::string_view offset, std::string_view rate);

// Whether the fault is a rule: it acts on the calls or points of the process the shim runs in,
// and names no target (a rules file, FAULTLINE_INJECT_RULES, `faultline inject`, a service's
// `inject` list). The error says what the line is instead.
Status CheckRule(const Fault& fault);

// "EIO" or a number; nothing for an unknown name.
std::optional<int> ErrnoFromName(std::string_view name);
// "EIO"; the number as text when it has no name here.
std::string ErrnoName(int error);

// Shell-style match: '*' any run of characters ('/' included), '?' one character.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace faultline::core
