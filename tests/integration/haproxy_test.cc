// faultline and a real HAProxy (Debian package) in one chain, both ways round.

#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include "faultline/proxy/server.h"
#include "support/net.h"
#include "support/run.h"

using namespace faultline;
using namespace faultline::testing;
using namespace std::chrono_literals;

extern char** environ;

namespace {

constexpr const char* kHaproxy = "/usr/sbin/haproxy";

// HAProxy in tcp mode on `port`, forwarding to `upstream`; killed when this goes away.
class Haproxy {
 public:
  Haproxy(std::uint16_t port, const std::string& upstream) : port_(port) {
    config_ = std::string(P_tmpdir) + "/faultline-haproxy-" + std::to_string(port) + ".cfg";
    std::ofstream(config_) << "global\n  maxconn 4096\n"
                           << "defaults\n  mode tcp\n  timeout connect 5s\n"
                           << "  timeout client 60s\n  timeout server 60s\n"
                           << "frontend in\n  bind 127.0.0.1:" << port
                           << "\n  default_backend out\n"
                           << "backend out\n  server upstream " << upstream << "\n";
    const char* argv[] = {kHaproxy, "-db", "-q", "-f", config_.c_str(), nullptr};
    REQUIRE(posix_spawn(&pid_, kHaproxy, nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
    // Ready once it accepts; bounded so a broken install fails instead of hanging.
    for (int i = 0; i < 200 && !Client(port_, 1s).connected(); ++i)
      std::this_thread::sleep_for(25ms);
  }
  ~Haproxy() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    std::remove(config_.c_str());
  }

 private:
  std::uint16_t port_;
  std::string config_;
  pid_t pid_ = -1;
};

double RoundTripMs(std::uint16_t port) {
  Client client(port);
  REQUIRE(client.connected());
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(client.SendAll("ping"));
  REQUIRE(client.Receive(4) == "ping");
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

TEST_CASE("client -> HAProxy -> faultline -> service", "[integration][haproxy]") {
  REQUIRE(::access(kHaproxy, X_OK) == 0);
  EchoServer echo;
  proxy::ProxyServer server({1, 1, proxy::SystemLookup, nullptr});
  auto state =
      server.Create({"svc", "127.0.0.1:0", echo.address(), true, {}},
                    {{"", "latency", proxy::Stream::kDownstream, 1.0, {{"latency", 100}}, {}}});
  REQUIRE(state);
  const auto haproxy_port = faultline::core::FreeLoopbackPort();
  Haproxy haproxy(haproxy_port, state->spec.listen);
  CHECK(RoundTripMs(haproxy_port) >= 100);
  Client bulk(haproxy_port);
  const std::string payload = RandomBytes(1 << 20, 9);
  std::thread writer([&] { bulk.SendAll(payload); });
  CHECK(Checksum(bulk.Receive(payload.size())) == Checksum(payload));
  writer.join();
}

TEST_CASE("client -> faultline -> HAProxy -> service", "[integration][haproxy]") {
  REQUIRE(::access(kHaproxy, X_OK) == 0);
  EchoServer echo;
  const auto haproxy_port = faultline::core::FreeLoopbackPort();
  Haproxy haproxy(haproxy_port, echo.address());
  proxy::ProxyServer server({1, 1, proxy::SystemLookup, nullptr});
  auto state =
      server.Create({"lb", "127.0.0.1:0", "127.0.0.1:" + std::to_string(haproxy_port), true, {}});
  REQUIRE(state);
  const auto port = static_cast<std::uint16_t>(
      std::stoi(state->spec.listen.substr(state->spec.listen.rfind(':') + 1)));
  CHECK(RoundTripMs(port) < 1000);
  REQUIRE(server.AddToxic("lb",
                          {"", "latency", proxy::Stream::kUpstream, 1.0, {{"latency", 100}}, {}}));
  CHECK(RoundTripMs(port) >= 100);
}
