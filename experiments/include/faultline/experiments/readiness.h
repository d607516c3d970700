#pragma once
// Readiness: waiting until a service the runner started can take work.
//
// A check is tried every `interval` until it passes or `timeout` runs out. Between attempts
// the runner waits on the process itself, so a service that exits while it is awaited is
// reported at once, not when the timeout runs out. A check that can never pass (a malformed
// address, URL or pattern, a command that cannot be run) fails at once too.
//
// Errors name the service, the check and the timeout, say why the last attempt failed, and
// end with the last lines of the service's log:
//
//   service store: not ready after 5s (tcp 127.0.0.1:4100: connection refused); last lines
//   of logs/store.log:
//     ...
//   service store exited with code 1 before it was ready; last lines of logs/store.log: ...

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/core/duration.h"
#include "faultline/core/result.h"
#include "faultline/experiments/process.h"

namespace faultline::experiments {

// Every member has an initializer so that designated initializers may leave any out.
struct ReadyCheck {
  enum class Kind {
    kTcp,      // `target` is HOST:PORT, which accepts a TCP connection
    kHttp,     // `target` is an http:// URL, which answers GET with a 2xx status
    kLog,      // `target` is an RE2 pattern (proxy/pattern.h) found in a line of the service's
               // log, the line without its newline
    kCommand,  // `command` (a program and its arguments, no shell) exits 0
  };
  Kind kind = Kind::kTcp;
  std::string target{};
  std::vector<std::string> command{};
  core::Duration timeout = std::chrono::seconds(30);
  core::Duration interval = std::chrono::milliseconds(50);
  // The longest one connect, HTTP request or command may take.
  core::Duration attempt_timeout = std::chrono::seconds(2);
};

// The check as messages show it: "tcp 127.0.0.1:4100", "log /listening on/".
std::string Describe(const ReadyCheck& check);

// Ok once `check` passes for `process`; an error when the timeout runs out first, when the
// process exits before, or when the check can never pass. A command check's own output is
// discarded. `between` is called between attempts: the runner reads the history pipes there,
// so that a service writing its history while it starts never waits on a full pipe.
core::Status WaitReady(const ReadyCheck& check, Process& process,
                       const std::function<void()>& between = {});

// One attempt of a tcp or http check, taking at most its attempt_timeout: what a probe
// invariant asks while the run goes on.
core::Status CheckOnce(const ReadyCheck& check);

// One HTTP/1.1 request (GET, PUT, ...) to an http:// URL, all of it within `timeout`: the
// response's status, or why there is none. A non-empty body is sent as Prometheus text (the
// only body the runner sends: its metrics, to a Pushgateway).
core::Result<unsigned> HttpRequest(std::string_view method, const std::string& url,
                                   const std::string& body, core::Duration timeout);

}  // namespace faultline::experiments
