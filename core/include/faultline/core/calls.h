#pragma once
// The calls the shim intercepts, declared once, one row each: its name in the shim's enum,
// its name in rules, and what the call knows when it runs, which says the filters and
// actions that apply to it (fd= and path= need a descriptor or a path, peer= a peer, short()
// bytes moved, skew() a clock read). The rule grammar's call list, the shim's Call enum and
// its names, and the counters are all made from these rows; adding a call is a row here and
// its wrapper in injector/src/shim.cc (whose exported symbols the suite checks it covers).

#include <cstdint>
#include <span>
#include <string_view>

// FAULTLINE_CALLS(ROW): ROW(Enum, name, facts) for each call, in a fixed order (the shim's
// table stores calls as bits in this order).
#define FAULTLINE_CALLS(ROW)                                   \
  ROW(Connect, connect, kKnowsFd | kKnowsPeer)                 \
  ROW(Accept, accept, kKnowsFd)                                \
  ROW(Send, send, kKnowsFd | kKnowsPeer | kMovesBytes)         \
  ROW(Sendto, sendto, kKnowsFd | kKnowsPeer | kMovesBytes)     \
  ROW(Sendmsg, sendmsg, kKnowsFd | kKnowsPeer | kMovesBytes)   \
  ROW(Recv, recv, kKnowsFd | kKnowsPeer | kMovesBytes)         \
  ROW(Recvfrom, recvfrom, kKnowsFd | kKnowsPeer | kMovesBytes) \
  ROW(Recvmsg, recvmsg, kKnowsFd | kKnowsPeer | kMovesBytes)   \
  ROW(Read, read, kKnowsFd | kMovesBytes)                      \
  ROW(Write, write, kKnowsFd | kMovesBytes)                    \
  ROW(Readv, readv, kKnowsFd | kMovesBytes)                    \
  ROW(Writev, writev, kKnowsFd | kMovesBytes)                  \
  ROW(Pread, pread, kKnowsFd | kMovesBytes)                    \
  ROW(Pwrite, pwrite, kKnowsFd | kMovesBytes)                  \
  ROW(Open, open, kKnowsPath)                                  \
  ROW(Openat, openat, kKnowsPath)                              \
  ROW(Creat, creat, kKnowsPath)                                \
  ROW(Close, close, kKnowsFd)                                  \
  ROW(Rename, rename, kKnowsPath)                              \
  ROW(Renameat, renameat, kKnowsPath)                          \
  ROW(Unlink, unlink, kKnowsPath)                              \
  ROW(Unlinkat, unlinkat, kKnowsPath)                          \
  ROW(Fsync, fsync, kKnowsFd)                                  \
  ROW(Fdatasync, fdatasync, kKnowsFd)                          \
  ROW(ClockGettime, clock_gettime, kReadsClock)                \
  ROW(Gettimeofday, gettimeofday, kReadsClock)                 \
  ROW(Time, time, kReadsClock)                                 \
  ROW(Nanosleep, nanosleep, 0)                                 \
  ROW(ClockNanosleep, clock_nanosleep, 0)

namespace faultline::core {

enum CallFact : std::uint8_t {
  kKnowsFd = 1,      // its first argument is a descriptor: fd= and path= (the file's) apply
  kKnowsPath = 2,    // it names a path: path= applies
  kKnowsPeer = 4,    // it knows its peer before it runs: peer= and port= apply
  kMovesBytes = 8,   // short() applies
  kReadsClock = 16,  // clock= and skew() apply
};

// Every call's rule name, in row order.
std::span<const std::string_view> KnownCalls();
// The CallFacts of `call` (a rule name), or'ed; 0 for an unknown call.
unsigned CallFacts(std::string_view call);

}  // namespace faultline::core
