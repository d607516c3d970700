#include "faultline/core/kinds.h"

#include <algorithm>
#include <set>

#include "faultline/core/text.h"

namespace faultline::core {
namespace {

using Kind = AttributeKind;

// Each kind's settings, in a namespace of its name. The frame-aware toxics share how the
// stream is cut into frames; which frames are acted on (frame, match and probability must all
// agree); where a hold or a point sits (after `bytes` bytes, at the k-th frame or at the first
// frame matching a pattern; with none set, at the start of the connection).
#define FAULTLINE_FRAMING_ATTRIBUTES                                                    \
  {"framing",                                                                           \
   "",                                                                                  \
   false,                                                                               \
   0,                                                                                   \
   "how the stream is cut into frames: raw (each read), line, length-prefixed, fixed",  \
   Kind::kText,                                                                         \
   0,                                                                                   \
   0,                                                                                   \
   "raw",                                                                               \
   "raw|line|length-prefixed|fixed"},                                                   \
      {"frame_size", "bytes", false, kMaxFrameBytes, "fixed framing: bytes per frame"}, \
      {"length_bytes", "bytes", false, 4, "length-prefixed: 2 or 4 (big-endian)",       \
       Kind::kInteger, 4},                                                              \
      {"length_includes_header", "", false, 1,                                          \
       "length-prefixed: 1 if the length counts the prefix itself"},                    \
  {                                                                                     \
    "max_frame", "bytes", false, kMaxFrameBytes,                                        \
        "largest frame accepted; a bigger one closes the connection", Kind::kInteger,   \
        kMaxFrameBytes                                                                  \
  }
#define FAULTLINE_SELECTOR_ATTRIBUTES                                                            \
  {"frame", "", false, kMaxCount, "only the k-th frame, counting from 1 (0: any)"},              \
      {"match",                                                                                  \
       "",                                                                                       \
       false,                                                                                    \
       0,                                                                                        \
       "only frames this pattern (RE2) matches, searched in the frame without its delimiter",    \
       Kind::kText},                                                                             \
  {                                                                                              \
    "probability", "", false, 0, "chance that a selected frame is acted on", Kind::kFraction, 0, \
        1.0                                                                                      \
  }
#define FAULTLINE_POINT_ATTRIBUTES                                                          \
  {"bytes", "bytes", false, kMaxCount, "after this many bytes have passed"},                \
      {"frame", "", false, kMaxCount, "at the k-th frame, counting from 1"}, {              \
    "match", "", false, 0,                                                                  \
        "at the first frame this pattern (RE2) matches, searched in the frame without its " \
        "delimiter",                                                                        \
        Kind::kText                                                                         \
  }

namespace latency {
constexpr std::string_view kHelp = "Delays each chunk by latency ± jitter (uniform), in order.";
constexpr AttributeInfo kAttributes[] = {
    {"latency", "ms", true, kMaxMs, "delay added to each chunk"},
    {"jitter", "ms", false, kMaxMs, "uniform spread, ± this much"}};
}  // namespace latency
namespace bandwidth {
constexpr std::string_view kHelp =
    "Limits throughput to rate KB/s (1 KB = 1000 bytes). rate 0 stalls the stream.";
constexpr AttributeInfo kAttributes[] = {
    {"rate", "KB/s", true, kMaxCount / 1000, "bytes per millisecond"}};
}  // namespace bandwidth
namespace slow_close {
constexpr std::string_view kHelp = "Delays the close (FIN) by delay after the data has passed.";
constexpr AttributeInfo kAttributes[] = {
    {"delay", "ms", true, kMaxMs, "delay before forwarding the close"}};
}  // namespace slow_close
namespace timeout {
constexpr std::string_view kHelp =
    "Drops all data; closes the connection after timeout (0: never closes).";
constexpr AttributeInfo kAttributes[] = {
    {"timeout", "ms", true, kMaxMs, "time from activation until the connection closes"}};
}  // namespace timeout
namespace reset_peer {
constexpr std::string_view kHelp =
    "Resets the connection (RST) timeout after the first data arrives.";
constexpr AttributeInfo kAttributes[] = {
    {"timeout", "ms", false, kMaxMs, "delay between the first data and the reset"}};
}  // namespace reset_peer
namespace slicer {
constexpr std::string_view kHelp =
    "Slices each chunk into pieces of about average_size ± size_variation bytes (at least 1).";
constexpr AttributeInfo kAttributes[] = {
    {"average_size", "bytes", true, kMaxCount, "mean size of a piece (> 0)"},
    {"size_variation", "bytes", false, kMaxCount, "spread; a piece is never under 1 byte"},
    {"delay", "us", false, kMaxUs, "pause between pieces"}};
}  // namespace slicer
namespace limit_data {
constexpr std::string_view kHelp = "Passes at most bytes bytes, then closes the connection.";
constexpr AttributeInfo kAttributes[] = {
    {"bytes", "bytes", true, kMaxCount, "bytes allowed before closing"}};
}  // namespace limit_data
namespace noop {
constexpr std::string_view kHelp = "Passes everything untouched (Toxiproxy's placeholder toxic).";
constexpr std::span<const AttributeInfo> kAttributes{};
}  // namespace noop
namespace reorder {
constexpr std::string_view kHelp =
    "Delivers frames out of order: each full window is permuted with the given probability, "
    "or, with frame k, frame k and frame k+1 swap places.";
constexpr AttributeInfo kAttributes[] = {
    FAULTLINE_FRAMING_ATTRIBUTES,
    {"window", "frames", false, 1 << 16, "frames permuted together (>= 2)", Kind::kInteger, 2},
    {"probability", "", false, 0, "chance that a full window is permuted", Kind::kFraction, 0, 1.0},
    {"frame", "", false, kMaxCount, "swap frame k with frame k+1 instead (0: random)"},
    {"max_wait", "ms", false, kMaxMs,
     "longest a frame waits for its window to fill; then the partial window goes", Kind::kInteger,
     100}};
}  // namespace reorder
namespace hold {
constexpr std::string_view kHelp =
    "Parks the direction at a point until released: by timeout, by the API, or when another "
    "proxy's point is reached (release_on). Holds once per connection.";
constexpr AttributeInfo kAttributes[] = {
    FAULTLINE_FRAMING_ATTRIBUTES,
    FAULTLINE_POINT_ATTRIBUTES,
    {"timeout", "ms", false, kMaxMs, "release after this long (0: the 60 s default)",
     Kind::kInteger, 0},
    {"release_on", "", false, 0,
     "'proxy/toxic': release when that point (or hold) is reached; the n-th time this hold "
     "catches traffic it waits for the n-th time the point is reached",
     Kind::kText}};
}  // namespace hold
namespace point {
constexpr std::string_view kHelp =
    "A named point that changes nothing: reaching it releases holds that wait on it.";
constexpr AttributeInfo kAttributes[] = {FAULTLINE_FRAMING_ATTRIBUTES, FAULTLINE_POINT_ATTRIBUTES};
}  // namespace point
namespace duplicate {
constexpr std::string_view kHelp = "Sends selected frames more than once.";
constexpr AttributeInfo kAttributes[] = {
    FAULTLINE_FRAMING_ATTRIBUTES,
    FAULTLINE_SELECTOR_ATTRIBUTES,
    {"copies", "", false, 1000, "extra copies of each selected frame", Kind::kInteger, 1}};
}  // namespace duplicate
namespace drop {
constexpr std::string_view kHelp = "Discards selected frames.";
constexpr AttributeInfo kAttributes[] = {FAULTLINE_FRAMING_ATTRIBUTES,
                                         FAULTLINE_SELECTOR_ATTRIBUTES};
}  // namespace drop
namespace delay {
constexpr std::string_view kHelp =
    "Delays selected frames only; the frames behind one wait for it (order is kept).";
constexpr AttributeInfo kAttributes[] = {
    FAULTLINE_FRAMING_ATTRIBUTES,
    FAULTLINE_SELECTOR_ATTRIBUTES,
    {"delay", "ms", true, kMaxMs, "delay added to each selected frame"}};
}  // namespace delay
namespace connect_delay {
constexpr std::string_view kHelp = "Delays the proxy's connect to the upstream.";
constexpr AttributeInfo kAttributes[] = {{"delay", "ms", true, kMaxMs, "time before connecting"}};
}  // namespace connect_delay
namespace connect_refuse {
constexpr std::string_view kHelp =
    "Refuses the connection: the client is reset and the upstream is never contacted.";
constexpr std::span<const AttributeInfo> kAttributes{};
}  // namespace connect_refuse
namespace accept_delay {
constexpr std::string_view kHelp =
    "Leaves an accepted connection untouched (no read, no upstream connect) for a while.";
constexpr AttributeInfo kAttributes[] = {
    {"delay", "ms", true, kMaxMs, "time before the proxy takes up the connection"}};
}  // namespace accept_delay
namespace rule {
constexpr std::string_view kHelp =
    "Acts on a process's libc calls or named points, as its rule line says.";
constexpr std::span<const AttributeInfo> kAttributes{};
}  // namespace rule
namespace skew {
constexpr std::string_view kHelp =
    "Moves a process's clocks by an offset, and runs them at a rate.";
constexpr std::span<const AttributeInfo> kAttributes{};
}  // namespace skew
namespace pause {
constexpr std::string_view kHelp = "Stops a process (SIGSTOP) for the fault's length.";
constexpr std::span<const AttributeInfo> kAttributes{};
}  // namespace pause
namespace kill {
constexpr std::string_view kHelp = "Kills a process (SIGKILL); a service may be started again.";
constexpr AttributeInfo kAttributes[] = {
    {"restart", "", false, 1, "1: start the service again after the kill"},
    {"restart_after", "ms", false, kMaxMs,
     "how long after the kill the service starts again (implies restart; restart=1 alone: at "
     "once)"}};
}  // namespace kill

#undef FAULTLINE_FRAMING_ATTRIBUTES
#undef FAULTLINE_SELECTOR_ATTRIBUTES
#undef FAULTLINE_POINT_ATTRIBUTES

#define FAULTLINE_KIND(family, name, acts_on, udp, origin, nemesis, settings, decisions) \
  KindInfo{#name,          Family::family,   ActsOn::acts_on, Udp::udp,                  \
           Origin::origin, Nemesis::nemesis, settings,        decisions,                 \
           name::kHelp,    name::kAttributes},
#define FAULTLINE_PROXY_ROW(...) FAULTLINE_KIND(kProxy, __VA_ARGS__)
#define FAULTLINE_SHIM_ROW(...) FAULTLINE_KIND(kShim, __VA_ARGS__)
#define FAULTLINE_PROCESS_ROW(...) FAULTLINE_KIND(kProcess, __VA_ARGS__)

constexpr KindInfo kKinds[] = {FAULTLINE_PROXY_KINDS(FAULTLINE_PROXY_ROW)        //
                               FAULTLINE_SHIM_KINDS(FAULTLINE_SHIM_ROW)          //
                               FAULTLINE_PROCESS_KINDS(FAULTLINE_PROCESS_ROW)};  //

// Every decision some kind (or none) logs, gathered once: the metrics ask for each decision.
const std::set<std::string_view>& KnownDecisions() {
  static const std::set<std::string_view> known = [] {
    std::set<std::string_view> all;
    for (const std::string_view word : SplitWords(kKindlessDecisions)) all.insert(word);
    for (const KindInfo& kind : kKinds) {
      for (const std::string_view word : SplitWords(kind.decisions)) all.insert(word);
    }
    return all;
  }();
  return known;
}

}  // namespace

std::span<const KindInfo> Kinds() { return kKinds; }

const KindInfo* FindKind(std::string_view name) {
  const auto* it = std::find_if(std::begin(kKinds), std::end(kKinds),
                                [&](const KindInfo& kind) { return kind.name == name; });
  return it == std::end(kKinds) ? nullptr : it;
}

std::string_view FamilyName(Family family) {
  switch (family) {
    case Family::kProxy:
      return "proxy";
    case Family::kShim:
      return "shim";
    case Family::kProcess:
      return "process";
  }
  return "unknown";
}

bool IsKnownDecision(std::string_view action) { return KnownDecisions().contains(action); }

}  // namespace faultline::core
