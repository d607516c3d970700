#pragma once
// Every kind of fault faultline injects, declared once, one row each: its name (in specs, the
// API, events and the `kind` label of metrics), what it acts on, whether a UDP proxy takes
// it, where its name comes from, what a nemesis does with it when the spec gives no settings,
// the decisions it logs (the `action` of its decision events and metrics), and the settings it
// takes, with their units, ranges and defaults (declared with the rows, in kinds.cc).
//
// The proxy makes its table of toxic types and its stage factory from the proxy rows (each
// row's name is the namespace, under proxy/src/toxics/, that makes the toxic's stage); the
// spec reader, the nemesis, the metrics and the report read the rest from here. Adding a toxic
// is its own file under proxy/src/toxics/, a row here and its settings in kinds.cc.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "faultline/core/attributes.h"

// ROW(name, acts_on, udp, origin, nemesis, nemesis_settings, decisions)
//   acts_on           ActsOn: what the fault acts on
//   udp               Udp: whether a UDP proxy takes it
//   origin            Origin: Toxiproxy's type (with its defaults and quirks) or faultline's
//   nemesis           kNemesis: a nemesis may name it in `kinds` with no settings of its own
//   nemesis_settings  the settings it then takes, as a fault line writes them
//                     ("latency=500ms", comma-separated); the others keep the type's defaults
//   decisions         space-separated: the decisions it logs
#define FAULTLINE_PROXY_KINDS(ROW)                                                              \
  ROW(latency, kDirection, kUdp, kToxiproxy, kNemesis, "latency=500ms", "delay")                \
  ROW(bandwidth, kDirection, kUdp, kToxiproxy, kNemesis, "rate=1", "throttle")                  \
  ROW(slow_close, kDirection, kNoUdp, kToxiproxy, kNemesis, "delay=500ms", "close_delay")       \
  ROW(timeout, kDirection, kNoUdp, kToxiproxy, kNemesis, "timeout=500ms", "close")              \
  ROW(reset_peer, kDirection, kNoUdp, kToxiproxy, kNemesis, "", "reset")                        \
  ROW(slicer, kDirection, kNoUdp, kToxiproxy, kNemesis, "average_size=1", "slice")              \
  ROW(limit_data, kDirection, kNoUdp, kToxiproxy, kNemesis, "bytes=1", "close")                 \
  ROW(noop, kDirection, kNoUdp, kToxiproxy, kNemesis, "", "")                                   \
  ROW(reorder, kFrames, kUdpRawFraming, kFaultline, kNemesis, "", "reorder")                    \
  ROW(hold, kPoint, kNoUdp, kFaultline, kNemesis, "", "hold release")                           \
  ROW(point, kPoint, kNoUdp, kFaultline, kNoNemesis, "", "point")                               \
  ROW(duplicate, kFrames, kUdpRawFraming, kFaultline, kNemesis, "", "duplicate shed")           \
  ROW(drop, kFrames, kUdpRawFraming, kFaultline, kNemesis, "", "drop")                          \
  ROW(delay, kFrames, kNoUdp, kFaultline, kNemesis, "delay=500ms", "delay")                     \
  ROW(connect_delay, kConnection, kNoUdp, kFaultline, kNemesis, "delay=500ms", "connect_delay") \
  ROW(connect_refuse, kConnection, kNoUdp, kFaultline, kNemesis, "", "refuse")                  \
  ROW(accept_delay, kConnection, kNoUdp, kFaultline, kNemesis, "delay=500ms", "accept_delay")

// The shim's kinds: a rule (its own calls, filters and action) and a clock skew; a nemesis
// draws a skew of ±1 s to 1 h.
#define FAULTLINE_SHIM_KINDS(ROW)                                                                \
  ROW(rule, kCalls, kNoUdp, kFaultline, kNoNemesis, "", "delay fail short hold release timeout") \
  ROW(skew, kClock, kNoUdp, kFaultline, kNemesis, "", "skew")

// The runner's own: signals to a service or a workload's clients, for the fault's length.
#define FAULTLINE_PROCESS_KINDS(ROW)                                     \
  ROW(pause, kProcess, kNoUdp, kFaultline, kNemesis, "", "pause resume") \
  ROW(kill, kProcess, kNoUdp, kFaultline, kNemesis, "", "kill restart")

namespace faultline::core {

enum class Family : std::uint8_t { kProxy, kShim, kProcess };
enum class ActsOn : std::uint8_t {
  kDirection,   // one direction of a proxy's connections, its bytes as they come
  kFrames,      // one direction, frame by frame
  kPoint,       // one direction, at one place in it
  kConnection,  // a proxy's connection as a whole: its accept and its upstream connect
  kCalls,       // a process's libc calls or named points
  kClock,       // a process's clock reads
  kProcess,     // a process
};
enum class Udp : std::uint8_t { kNoUdp, kUdp, kUdpRawFraming };
enum class Origin : std::uint8_t { kToxiproxy, kFaultline };
enum class Nemesis : std::uint8_t { kNoNemesis, kNemesis };

struct KindInfo {
  std::string_view name;
  Family family;
  ActsOn acts_on;
  Udp udp;
  Origin origin;
  Nemesis nemesis;
  std::string_view nemesis_settings;
  std::string_view decisions;
  std::string_view help;                      // one sentence: what it does
  std::span<const AttributeInfo> attributes;  // the settings it takes
};

// Every kind: the proxy's in documentation order (Toxiproxy's eight, then faultline's own),
// then the shim's, then the process kinds.
std::span<const KindInfo> Kinds();
const KindInfo* FindKind(std::string_view name);
std::string_view FamilyName(Family family);

// The decisions logged with no kind: a frame-aware toxic that meets malformed framing closes
// the connection; a proxy whose upstream cannot be reached or resolved says so.
inline constexpr std::string_view kKindlessDecisions =
    "close upstream_unreachable upstream_unresolved";
// Whether `action` is a decision some kind (or none) logs: the bounded set of the `action`
// label.
bool IsKnownDecision(std::string_view action);

}  // namespace faultline::core
