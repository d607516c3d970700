// A run's metrics: the declared names in valid exposition format (promtool), served live to a
// real Prometheus, and pushed to a real Pushgateway.

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <thread>

#include "faultline/experiments/run_metrics.h"
#include "support/run.h"

using faultline::core::FreeLoopbackPort;
using faultline::experiments::RunMetrics;
using faultline::testing::Background;
using faultline::testing::RunProgram;
using faultline::testing::TempDir;
using namespace std::chrono_literals;

namespace {

void Record(RunMetrics& metrics) {
  metrics.OpCompleted("write", "ok", 0.002);
  metrics.OpCompleted("write", "fail", 0.5);
  metrics.OpCompleted("read", "info", std::nullopt);
  metrics.FaultStarted("latency", "store_a");
  metrics.FaultStarted("pause", "store");
  metrics.FaultEnded("pause", "store");
  metrics.InvariantViolated("availability");
  metrics.InjectCalls("fsync", "delay", 3);
  metrics.InjectCalls("fsync", "delay", 5);
  metrics.InjectCalls("fsync", "delay", 4);  // never backwards
  metrics.Finish(false, 20.5);
}

// Polls `url` with curl until its body contains `text`; the body, or "" on timeout.
std::string WaitForBody(const std::string& url, const std::string& text) {
  for (int attempt = 0; attempt < 300; ++attempt) {
    const auto got = RunProgram({"curl", "-sS", "--max-time", "2", url});
    if (got.exit_code == 0 && got.out.find(text) != std::string::npos) return got.out;
    std::this_thread::sleep_for(100ms);  // the poll interval of a wait, bounded above
  }
  return "";
}

}  // namespace

TEST_CASE("a run's metrics carry the declared names and pass promtool", "[experiments][metrics]") {
  RunMetrics metrics("cleanup-race", "20261123T101500-42", 42);
  Record(metrics);
  const std::string text = metrics.Text();
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(faultline_run_info{experiment="cleanup-race",run_id="20261123T101500-42",seed="42"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(faultline_run_passed{experiment="cleanup-race"} 0)"));
  CHECK_THAT(text,
             Catch::Contains(R"(faultline_run_duration_seconds{experiment="cleanup-race"} 20.5)"));
  CHECK_THAT(text,
             Catch::Contains(
                 R"(faultline_ops_total{experiment="cleanup-race",f="write",outcome="fail"} 1)"));
  CHECK_THAT(text,
             Catch::Contains(
                 R"(faultline_op_latency_seconds_count{experiment="cleanup-race",f="write"} 2)"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(faultline_fault_active{experiment="cleanup-race",kind="pause",target="store"} 0)"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(faultline_faults_injected_total{experiment="cleanup-race",kind="latency",target="store_a"} 1)"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(faultline_invariant_violations_total{experiment="cleanup-race",invariant="availability"} 1)"));
  CHECK_THAT(text,
             Catch::Contains(R"(faultline_inject_calls_total{action="delay",call="fsync"} 5)"));

  TempDir dir;
  const std::string file = dir.path + "/metrics.prom";
  std::ofstream(file) << text;
  const auto checked = RunProgram({"sh", "-c", "promtool check metrics < " + file});
  INFO(checked.out << checked.err);
  CHECK(checked.exit_code == 0);
}

TEST_CASE("a real Prometheus scrapes a run's live metrics and answers its verdict",
          "[experiments][metrics][prometheus]") {
  RunMetrics metrics("live", "run-1", 7);
  REQUIRE(metrics.Serve("127.0.0.1:0"));
  REQUIRE(metrics.port() != 0);
  metrics.Finish(true, 1.0);

  TempDir dir;
  const std::string config = dir.path + "/prometheus.yml";
  std::ofstream(config) << "global: {scrape_interval: 1s}\n"
                           "scrape_configs:\n"
                           "  - job_name: faultline\n"
                           "    static_configs: [{targets: ['127.0.0.1:"
                        << metrics.port() << "']}]\n";
  const std::string port = std::to_string(FreeLoopbackPort());
  Background prometheus({"prometheus", "--config.file=" + config,
                         "--storage.tsdb.path=" + dir.path + "/data",
                         "--web.listen-address=127.0.0.1:" + port});
  const std::string answer =
      WaitForBody("http://127.0.0.1:" + port + "/api/v1/query?query=faultline_run_passed",
                  R"("experiment":"live")");
  INFO(prometheus.Output());
  REQUIRE(!answer.empty());
  CHECK_THAT(answer, Catch::Contains(R"("status":"success")"));
  CHECK_THAT(answer, Catch::Contains(R"(,"1"])"));  // the sample's value
}

TEST_CASE("a run's metrics reach a real Pushgateway, grouped by experiment and run",
          "[experiments][metrics][pushgateway]") {
  const std::string port = std::to_string(FreeLoopbackPort());
  // In memory only: Debian's default persists to a file every gateway would share.
  Background gateway(
      {"prometheus-pushgateway", "--persistence.file=", "--web.listen-address=127.0.0.1:" + port});
  REQUIRE(!WaitForBody("http://127.0.0.1:" + port + "/-/ready", "OK").empty());

  RunMetrics metrics("pushed", "run-9", 9);
  Record(metrics);
  const auto pushed = metrics.Push("http://127.0.0.1:" + port);
  INFO((pushed.ok() ? std::string() : pushed.message()));
  REQUIRE(pushed);
  const std::string body =
      WaitForBody("http://127.0.0.1:" + port + "/metrics", "faultline_run_passed{");
  CHECK_THAT(
      body,
      Catch::Contains(
          R"(faultline_run_passed{experiment="pushed",instance="",job="faultline",run_id="run-9"} 0)"));

  // Nothing listening: a clear error, not a hang.
  const auto refused = metrics.Push("http://127.0.0.1:" + std::to_string(FreeLoopbackPort()));
  REQUIRE(!refused);
  CHECK_THAT(refused.message(), Catch::Contains("pushgateway http://127.0.0.1:"));
  CHECK(!metrics.Push("pushgateway:9091"));
}

TEST_CASE("a Pushgateway is a base URL: http://HOST:PORT and nothing after it",
          "[experiments][metrics][pushgateway]") {
  RunMetrics metrics("pushed", "run-9", 9);
  for (const std::string url : {"http://", "http:///", "https://127.0.0.1:9091",
                                "http://127.0.0.1:9091/metrics", "http://127.0.0.1:9091//"}) {
    CAPTURE(url);
    const auto pushed = metrics.Push(url);
    REQUIRE_FALSE(pushed);
    CHECK(pushed.message() == "pushgateway " + url + ": expected http://HOST:PORT");
  }
  // A well-formed URL gets as far as the request: nothing listens there.
  const std::string url = "http://127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/";
  const auto refused = metrics.Push(url);
  REQUIRE_FALSE(refused);
  CHECK(refused.message() != "pushgateway " + url + ": expected http://HOST:PORT");
}
