#pragma once
// A rule for faults inside a process (the injector): where (libc calls or a named point,
// narrowed by filters), what (one action) and how often. Its text is one line, the same on
// the command line, in rule files, in the shim's control table and in the event log:
//
//   [rule ID:] CALLS [FILTER...] -> [P%]ACTION(ARGS) [OPTION...]
//
//   rule r1: send peer=127.0.0.1:6379 -> 20%delay(uniform 5ms 50ms) lease=30s
//   rule r2: point:plan.apply after=1 -> hold(h1) timeout=10s
//   fsync path=/var/lib/app/* -> delay(50ms)
//   connect port=5432 -> fail(ECONNREFUSED) times=3
//   clock_gettime,gettimeofday,time -> skew(+1h)
//
// CALLS    comma-separated names from KnownCalls(), or one point:NAME
// FILTER   fd=socket|file|pipe   path=GLOB   peer=ADDR[:PORT]   port=N   thread=GLOB
//          clock=realtime|monotonic|all (clock calls; default realtime)
// ACTION   delay(DISTRIBUTION)  fail(ERRNO)  short(BYTES)  hold(NAME)  skew(OFFSET[, RATE])
// OPTION   after=N (let the first N matching calls pass)   times=N (act at most N times)
//          lease=DURATION (the rule lapses after it)   timeout=DURATION (hold; default 60s)
//          until=OWNER/POINT (hold: in an experiment, the runner releases the n-th thread
//          parked here once that point has been reached n times: a proxy's hold or point
//          toxic PROXY/TOXIC, or another service's SERVICE/RULE or SERVICE/HOLD)
//
// Parsing is pure: no I/O, no exceptions; errors name the offending word.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/core/calls.h"
#include "faultline/core/distribution.h"
#include "faultline/core/duration.h"
#include "faultline/core/probability.h"
#include "faultline/core/result.h"

namespace faultline::core {

enum class FdKind { kAny, kSocket, kFile, kPipe };
enum class ClockKind { kRealtime, kMonotonic, kAll };
enum class ActionKind { kDelay, kFail, kShort, kHold, kSkew };

struct RuleAction {
  ActionKind kind = ActionKind::kDelay;
  Distribution delay = Distribution::Constant(Duration(0));
  int error = 0;                  // fail: an errno value
  std::uint64_t short_bytes = 0;  // short: at most this many bytes move
  std::string hold;               // hold: its name
  Duration skew_offset{0};        // skew: added to the clock (may be negative)
  double skew_rate = 1.0;         // skew: how fast the skewed clock runs from now on
};

struct Rule {
  std::string id;                  // empty: the installer names it
  std::vector<std::string> calls;  // empty when `point` is set
  std::string point;               // a named point (faultline_point), or empty
  FdKind fd = FdKind::kAny;
  std::string path;             // glob; empty: any
  std::string peer_address;     // IP literal; empty: any
  std::uint16_t peer_port = 0;  // 0: any
  std::string thread;           // glob on the thread's name; empty: any
  ClockKind clock = ClockKind::kRealtime;
  Probability probability = Probability::Always();
  RuleAction action;
  std::uint64_t after = 0;
  std::uint64_t times = 0;  // 0: no limit
  std::optional<Duration> lease;
  Duration timeout = std::chrono::seconds(60);
  std::string until;  // hold: the point that releases it (the runner acts on it), or empty
};

inline constexpr Duration kDefaultHoldTimeout = std::chrono::seconds(60);

// Parses one rule line; the error names what is wrong and suggests the nearest known name.
Result<Rule> ParseRule(std::string_view line);
// The canonical line: ParseRule(FormatRule(r)) gives r back.
std::string FormatRule(const Rule& rule);
// Parses a rules file: one rule per line, blank lines and '#' comments skipped. An error
// gives the 1-based line number.
Result<std::vector<Rule>> ParseRules(std::string_view text);

// "EIO" or a number; nothing for an unknown name.
std::optional<int> ErrnoFromName(std::string_view name);
// "EIO"; the number as text when it has no name here.
std::string ErrnoName(int error);

// Shell-style match: '*' any run of characters ('/' included), '?' one character.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace faultline::core
