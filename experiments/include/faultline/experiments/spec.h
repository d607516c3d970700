#pragma once
// An experiment, as its YAML file describes it: the services to start, the proxies between
// them, the workload, the faults and the invariants (docs/experiments.md is the reference).
//
//   SpecResult loaded = LoadSpec("cleanup-race.yaml");
//   for (const Diagnostic& d : loaded.errors) std::cerr << d.Format() << "\n";
//
// Loading checks everything that can be checked before anything runs, and reports every
// mistake it finds (not only the first), each with its file, line and column: unknown keys
// (with the nearest valid one suggested), wrong types, bad durations, rules and toxics,
// references to services or proxies that do not exist, dependency cycles and templates that
// name nothing. Templates ({{port.NAME}}, {{proxy.NAME}}, {{run.dir}}, {{seed}}) may stand in
// any value, a rule or a toxic attribute included. They are filled in before the file is
// read: with stand-ins of the same shape when checking (port 1, seed 1), and with the run's
// values when the runner reads the spec again for a run.

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "faultline/core/duration.h"
#include "faultline/core/fault.h"
#include "faultline/core/result.h"

namespace faultline::experiments {

// Where in the spec file something was written; 1-based, 0 when unknown.
struct Location {
  int line = 0;
  int column = 0;
  friend auto operator<=>(const Location&, const Location&) = default;
};

struct Diagnostic {
  std::string file;
  Location where;
  std::string message;
  // "file:line:column: message"
  std::string Format() const;
};

// A command: a shell line (run as `/bin/sh -c 'exec LINE'`), or a program and its arguments
// when the spec gives a list (or `cmd` plus `args`).
struct Command {
  std::vector<std::string> argv;  // one element, the line, when `shell`
  bool shell = false;
  // The argv to execute: the shell line wrapped in /bin/sh -c.
  std::vector<std::string> Argv() const;
  // For messages: the line, or the words joined by spaces.
  std::string Text() const;
};

using Environment = std::vector<std::pair<std::string, std::string>>;

struct ReadySpec {
  enum class Kind { kTcp, kHttp, kLog, kCommand };
  Kind kind = Kind::kTcp;
  std::string target;  // tcp: HOST:PORT or a port name; http: URL; log: RE2 pattern
  Command command;     // command
  core::Duration timeout = std::chrono::seconds(30);
  core::Duration interval = std::chrono::milliseconds(50);
};

enum class RestartPolicy { kNever, kOnFailure, kAlways };

struct ServiceSpec {
  std::string name;
  Location where;
  Command command;
  Environment env;
  std::string cwd;  // empty: the spec file's directory
  std::optional<ReadySpec> ready;
  RestartPolicy restart = RestartPolicy::kNever;
  std::vector<std::string> depends_on;  // services started (and ready) before this one
  bool inject = false;                  // run under libfaultline_inject.so
  std::vector<core::Fault> rules;       // its rules from the start
  core::Duration stop_grace = std::chrono::seconds(5);
  bool history = false;      // its stdout is JSON lines of operations, as a client's
  std::string history_file;  // ...or this file (templated) is
};

struct ProxySpec {
  std::string name;
  Location where;
  std::string listen = "auto";      // "auto" (127.0.0.1 and a free port) or HOST:PORT
  std::string upstream;             // a service (its port), a port name, or HOST:PORT
  std::vector<core::Fault> toxics;  // on from the start; each one's id is its toxic's name
};

struct WorkloadSpec {
  std::string name;
  Location where;
  Command command;
  Environment env;
  int concurrency = 1;                     // clients started at once
  std::optional<std::uint64_t> ops;        // in all, shared among the clients
  std::optional<core::Duration> duration;  // how long the clients run
  bool history = false;                    // clients write operations as JSON lines
  std::string history_file;                // ...to this file (templated), else stdout
};

// A workload's clients are NAME-0, NAME-1...: their log files, and what pause and kill name.
std::string ClientName(const WorkloadSpec& workload, int index);

// When a timeline fault starts: `at` after the run starts, or after an event.
struct Trigger {
  enum class Event { kStart, kReady, kOp };
  Event event = Event::kStart;
  std::string service;   // kReady: the service
  std::uint64_t op = 0;  // kOp: the op's index (1-based) in the history
  core::Duration at{0};  // offset after the event
};

struct TimelineFault {
  Location where;
  Trigger start;
  std::optional<core::Duration> length;  // `for`; none: until the run ends
  // What it does, and to what: a toxic on a proxy, a rule or a skew on a service's calls, a
  // pause or a kill of a service or of a workload's clients. Its id is the plan's.
  core::Fault fault;
};

// One thing a nemesis may do: a named kind (NemesisKinds(): pause, kill, skew or a toxic type
// with defaults that show), or the user's own toxic or shim rule, written like a timeline
// fault's without its target.
struct NemesisKind {
  Location where;
  std::string name;                // the named kind, or the own toxic's type, or "rule"
  std::optional<core::Fault> own;  // own toxic or rule, with no target yet
};

// A seeded random nemesis: every `every` (uniform in its range) it starts one fault chosen
// from `kinds` on a target chosen from `targets`, lasting `length` (uniform in its range),
// with at most `max_active` of its faults active at once.
struct NemesisSpec {
  Location where;
  core::Duration every_min{std::chrono::seconds(1)};
  core::Duration every_max{std::chrono::seconds(1)};
  core::Duration length_min{std::chrono::seconds(1)};
  core::Duration length_max{std::chrono::seconds(1)};
  std::vector<NemesisKind> kinds;
  std::vector<std::string> targets;  // proxies and services; empty: every one a kind applies to
  int max_active = 1;
};

struct InvariantSpec {
  enum class Kind { kProbe, kFinal, kChecker };
  Kind kind = Kind::kProbe;
  std::string name;  // given, or derived from what it checks
  Location where;
  Command command;  // probe or final: passes when it exits 0
  std::string url;  // probe: an HTTP GET that passes on 2xx
  core::Duration every = std::chrono::seconds(1);
  core::Duration timeout = std::chrono::seconds(5);  // one attempt
  bool eventually = false;      // probe: must hold at the end rather than at every check
  std::string checker;          // kChecker: no-errors, availability, unique-ids
  double min_availability = 0;  // availability: the least share of ok ops, 0..1
};

struct Spec {
  std::string name;
  std::string file;  // where it was read from
  std::string dir;   // its directory: relative paths and cwd start here
  // The file as written; read with values (ParseSpec), its templates filled in as well.
  std::string text;
  std::optional<std::uint64_t> seed;
  std::optional<core::Duration> duration;
  std::vector<ServiceSpec> services;  // in the file's order
  std::vector<ProxySpec> proxies;
  std::vector<WorkloadSpec> workload;
  std::vector<TimelineFault> faults;
  std::vector<NemesisSpec> nemeses;
  std::vector<InvariantSpec> invariants;

  const ServiceSpec* FindService(std::string_view name) const;
  const ProxySpec* FindProxy(std::string_view name) const;
  // Whether pause or kill on `target` acts on clients: a workload's name, or a client's (a
  // service's name is the service).
  bool NamesClients(std::string_view target) const;
  // Services in an order that starts each after those it depends on (file order otherwise).
  std::vector<const ServiceSpec*> StartOrder() const;
};

struct SpecResult {
  std::optional<Spec> spec;  // set when there are no errors
  std::vector<Diagnostic> errors;
  // What is accepted but should change (a toxic's duration as a bare number); each message
  // starts "warning: ".
  std::vector<Diagnostic> warnings;
};

// The value of a template by its name ("port.store", "proxy.a", "run.dir", "seed"); none for a
// name that means nothing.
using TemplateLookup = std::function<std::optional<std::string>(std::string_view name)>;

SpecResult LoadSpec(const std::string& path);
// `file` names the text in messages; `dir` is where relative paths start. `values` fills the
// templates (the runner's ports, proxies, run directory and seed; a proxy with its own
// `listen` is filled from it, so `values` is asked for "proxy.NAME" only when it is `auto`);
// without it they are filled with stand-ins, and Spec::text is the file as written.
SpecResult ParseSpec(std::string_view text, const std::string& file, const std::string& dir,
                     const TemplateLookup& values = {});

// Replaces each {{...}} in `text` with lookup(name); an error names the first template lookup
// does not know.
core::Result<std::string> ResolveTemplates(std::string_view text, const TemplateLookup& lookup);

}  // namespace faultline::experiments
