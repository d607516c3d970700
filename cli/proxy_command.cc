#include "proxy_command.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <iostream>

#include "app.h"
#include "config_file.h"
#include "faultline/core/duration.h"
#include "faultline/proxy/api.h"
#include "faultline/proxy/http_server.h"
#include "faultline/proxy/server.h"
#include "version.h"

namespace faultline::cli {

void SetupProxyCommand(CLI::App& app, ProxyOptions& options, int& exit_code) {
  CLI::App* cmd =
      app.add_subcommand("proxy",
                         "Run the TCP fault proxy with its Toxiproxy-compatible HTTP API.\n"
                         "Point Toxiproxy clients at --host:--port; they work unchanged.\n"
                         "Beyond loopback, close the API with --token-file.");
  cmd->add_option("--host", options.host, "Address the API listens on")->capture_default_str();
  cmd->add_option("--port", options.port, "Port the API listens on")->capture_default_str();
  cmd->add_option("--config", options.config,
                  "Proxies (and their toxics) to create at start: Toxiproxy's JSON array, "
                  "or the same in YAML")
      ->check(CLI::ExistingFile);
  cmd->add_option("--seed", options.seed,
                  "Seed for every random choice the toxics make (default: random, printed)");
  cmd->add_option("--events", options.events,
                  "Append every fault decision to this file as JSON lines (also on GET /events)");
  cmd->add_option("--threads", options.threads, "Data-path threads (default: one per core)");
  cmd->add_option("--token-file", options.token_file,
                  "Close the API: every request but GET /version must carry 'Authorization: "
                  "Bearer <token>', the token being this file's content (surrounding whitespace "
                  "trimmed); others get 401. faultline ctl sends it with --token-file or "
                  "$FAULTLINE_TOKEN. Without it, an API beyond loopback is open to anyone")
      ->type_name("FILE");
  cmd->add_option("--busy-poll", options.busy_poll,
                  "Keep polling this long (e.g. 50us) after traffic before sleeping: lower "
                  "round-trip latency for more CPU (default 0: off)")
      ->capture_default_str();
  cmd->callback([&options, &exit_code] { exit_code = RunProxy(options); });
}

namespace {

// Each proxied connection holds two descriptors; the default soft limit (often 1024) would
// cap a proxy at a few hundred clients.
void RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Blocks SIGINT and SIGTERM for this thread and every thread started after it, so only
// sigwait() sees them; restores the previous mask when done.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  }
  ~StopSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  int Wait() {
    int signal_number = 0;
    sigwait(&set_, &signal_number);
    return signal_number;
  }

 private:
  sigset_t set_;
  sigset_t previous_;
};

}  // namespace

int RunProxy(const ProxyOptions& options) {
  const std::optional<std::uint64_t> seed_option = SeedFromOption(options.seed);
  if (!seed_option) {
    std::cerr << "faultline proxy: --seed must be a non-negative integer, got '" << options.seed
              << "'\n";
    return kExitBadInput;
  }
  const std::uint64_t seed = *seed_option;
  std::vector<proxy::ProxyState> initial;
  if (!options.config.empty()) {
    auto config = LoadProxyConfig(options.config);
    if (!config) {
      std::cerr << "faultline proxy: " << config.message() << "\n";
      return kExitBadInput;
    }
    for (const std::string& warning : config->warnings) {
      std::cerr << "faultline proxy: warning: " << warning << "\n";
    }
    initial = std::move(config->proxies);
  }
  auto busy_poll = core::ParseDuration(options.busy_poll);
  if (!busy_poll) {
    std::cerr << "faultline proxy: --busy-poll: " << busy_poll.message() << "\n";
    return kExitBadInput;
  }
  std::string token;
  if (!options.token_file.empty()) {
    auto read = proxy::ReadTokenFile(options.token_file);
    if (!read) {
      std::cerr << "faultline proxy: --token-file: " << read.message() << "\n";
      return kExitBadInput;
    }
    token = std::move(*read);
  }
  RaiseDescriptorLimit();
  StopSignals stop_signals;  // before any thread starts

  proxy::ProxyServer::Options server_options;
  server_options.seed = seed;
  server_options.threads = options.threads;
  server_options.busy_poll = std::chrono::duration_cast<std::chrono::microseconds>(*busy_poll);
  proxy::ProxyServer server(std::move(server_options));
  if (!options.events.empty()) {
    if (auto ok = server.events().WriteTo(options.events); !ok) {
      std::cerr << "faultline proxy: --events: " << ok.message() << "\n";
      return kExitBadInput;
    }
  }

  if (!initial.empty()) {
    auto created = server.Populate(std::move(initial));
    if (!created) {
      std::cerr << "faultline proxy: " << options.config << ": " << created.message() << "\n";
      return kExitBadInput;
    }
    for (const auto& p : *created) {
      std::cout << "proxy " << p.spec.name << ": " << p.spec.listen << " -> " << p.spec.upstream
                << (p.spec.enabled ? "" : " (disabled)") << ", " << p.toxics.size()
                << " toxic(s)\n";
    }
  }

  const bool closed = !token.empty();
  proxy::Api api(server, kVersion, std::move(token));
  auto http = proxy::HttpServer::Start(api, options.host, options.port);
  if (!http) {
    std::cerr << "faultline proxy: " << http.message() << "\n";
    return kExitBadInput;
  }
  if (!closed && !(*http)->loopback()) {
    std::cerr << "faultline proxy: WARNING: the API on http://" << (*http)->address()
              << " is reachable from other hosts and needs no token. Anyone who reaches it can "
                 "create proxies, cut traffic and make this host connect anywhere. Pass "
                 "--token-file FILE to close it, or listen on 127.0.0.1."
              << std::endl;
  }
  std::cout << "faultline proxy " << kVersion << ": API on http://" << (*http)->address()
            << ", seed " << seed << " (pass --seed " << seed << " to repeat)" << std::endl;

  const int signal_number = stop_signals.Wait();
  std::cout << "faultline proxy: stopping (" << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
            << ")" << std::endl;
  return kExitOk;
}

}  // namespace faultline::cli
