// faultline-bench: an epoll echo/discard server, a minimal relay, a round-trip client, and
// `all`, the benchmark of faultline against direct connections and HAProxy. Loopback only.

#include <signal.h>

#include <algorithm>
#include <iostream>

#include <CLI/CLI.hpp>

#include "net.h"
#include "suite.h"

namespace fb = faultline::bench;

int main(int argc, char** argv) {
  // A peer that goes away must show up as an error on send, not kill the benchmark.
  ::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"faultline-bench: benchmarks faultline against direct connections and HAProxy"};
  app.require_subcommand(1);

  int port = 0;
  fb::ServeOptions serve;
  int delay_ms = 0;
  CLI::App* echo = app.add_subcommand(
      "echo", "Serve on 127.0.0.1 until SIGTERM/SIGINT; prints 'port N' once listening");
  echo->add_option("--port", port, "Port to listen on; 0 picks a free one")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  auto* discard =
      echo->add_flag("--discard", serve.discard,
                     "Read each connection to EOF, then reply with the byte count (8 bytes)");
  echo->add_option("--delay-ms", delay_ms, "Echo each read this many ms later")
      ->check(CLI::NonNegativeNumber)
      ->excludes(discard);

  std::string upstream;
  CLI::App* relay = app.add_subcommand(
      "relay",
      "Relay to an upstream with recv/send on one epoll thread, the least a proxy that sleeps "
      "in epoll_wait costs; prints 'port N' once listening");
  relay->add_option("--port", port, "Port to listen on; 0 picks a free one")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  relay->add_option("--upstream", upstream, "Where to relay to, 127.0.0.1:PORT")->required();

  std::string target;
  int count = 10000;
  int conns = 1;
  int size = 64;
  int stagger_us = 0;
  CLI::App* rtt = app.add_subcommand(
      "rtt", "Closed-loop echo round trips; prints 'p50_us=.. p99_us=.. count=..'");
  rtt->add_option("--target", target, "Echo service, 127.0.0.1:PORT")->required();
  rtt->add_option("--count", count, "Round trips to measure")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  rtt->add_option("--conns", conns, "Connections, one request outstanding on each")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  rtt->add_option("--size", size, "Request size in bytes")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  rtt->add_option("--stagger-us", stagger_us,
                  "Spread the connections' first requests over this many µs (use the toxic's "
                  "latency, so connections do not move in lockstep)")
      ->check(CLI::NonNegativeNumber);

  std::uint64_t bulk_mib = 1024;
  std::size_t write_size = fb::kBulkChunk;
  CLI::App* throughput = app.add_subcommand(
      "throughput",
      "Send bulk lines to a discard service on one connection; prints 'mbps=..' (run it "
      "under perf against one proxy to see where the time goes)");
  throughput->add_option("--target", target, "Discard service, 127.0.0.1:PORT")->required();
  throughput->add_option("--mib", bulk_mib, "MiB to send")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  throughput->add_option("--write-size", write_size, "Bytes per send")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64} << 20))
      ->capture_default_str();

  fb::SuiteOptions suite;
  CLI::App* all = app.add_subcommand(
      "all",
      "Direct vs faultline vs HAProxy: round trips, throughput, idle memory, toxic "
      "accuracy, the cost of frame-aware toxics and hold releases; prints a markdown table");
  all->add_option("--faultline", suite.faultline, "The faultline executable")
      ->required()
      ->check(CLI::ExistingFile);
  all->add_option("--haproxy", suite.haproxy, "The haproxy executable (default: searched)");
  all->add_option("--busy-poll", suite.busy_poll,
                  "Run faultline with --busy-poll DURATION (e.g. 50us)");
  all->add_option("--threads", suite.threads,
                  "Data-path threads for faultline and HAProxy (default: one per CPU)");
  all->add_flag("--quick", suite.quick, "Small sizes and one run each: a smoke test");

  CLI11_PARSE(app, argc, argv);

  if (*echo) {
    fb::Fd listener = fb::Listen(static_cast<std::uint16_t>(port));
    std::cout << "port " << fb::LocalPort(listener.get()) << std::endl;
    serve.delay = std::chrono::milliseconds(delay_ms);
    fb::Serve(std::move(listener), serve);
  }
  if (*relay) {
    // Parsed first, so a bad address fails before anyone waits for the port.
    const sockaddr_in to = fb::ParseLoopback(upstream);
    fb::Fd listener = fb::Listen(static_cast<std::uint16_t>(port));
    std::cout << "port " << fb::LocalPort(listener.get()) << std::endl;
    fb::Relay(std::move(listener), to);
  }
  if (*rtt) {
    // A tenth of the work, at most 1000 round trips, warms the path up unmeasured.
    std::vector<double> us =
        fb::MeasureRoundTrips(fb::ParseLoopback(target), conns, count, std::min(count / 10, 1000),
                              size, std::chrono::microseconds(stagger_us));
    const double p50 = fb::Percentile(us, 0.5);
    const double p99 = fb::Percentile(us, 0.99);
    std::cout << "p50_us=" << p50 << " p99_us=" << p99 << " count=" << us.size() << std::endl;
    return 0;
  }
  if (*throughput) {
    const double mbps =
        fb::MeasureThroughput(fb::ParseLoopback(target), bulk_mib << 20, write_size);
    std::cout << "mbps=" << mbps << std::endl;
    return 0;
  }
  return fb::RunSuite(suite);
}
