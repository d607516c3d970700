// The proxy over real loopback sockets, driven through its HTTP API as a client would.
// Timing checks use generous bounds; precise figures live in bench/.

#include <fcntl.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include "support/net.h"
#include "support/processes.h"
#include "support/proxy_harness.h"

using namespace faultline;
using namespace faultline::testing;
using namespace std::chrono_literals;
namespace bj = boost::json;

namespace {

using Clock = std::chrono::steady_clock;

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

TEST_CASE("bytes pass both ways unchanged", "[integration][proxy]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  Client client(port);
  REQUIRE(client.connected());
  const std::string payload = RandomBytes(4 << 20, 1);
  bool sent = false;  // checked here: Catch2 asserts only on the test's own thread
  std::thread writer([&] { sent = client.SendAll(payload); });
  const std::string back = client.Receive(payload.size());
  writer.join();
  CHECK(sent);
  CHECK(Checksum(back) == Checksum(payload));
}

TEST_CASE("half-close is forwarded: the client still gets the whole reply",
          "[integration][proxy][half-close]") {
  EchoServer server(EchoServer::Mode::kReplyAfterEnd);
  Harness h;
  const auto port = h.Proxy("rpc", server.address());
  Client client(port);
  const std::string request = RandomBytes(1 << 20, 2);
  REQUIRE(client.SendAll(request));
  client.ShutdownWrite();
  int error = -1;
  const std::string reply = client.ReceiveUntilEnd(&error);
  CHECK(error == 0);
  CHECK(reply == std::string(request.rbegin(), request.rend()));
}

TEST_CASE("latency delays round trips on live and new connections",
          "[integration][proxy][latency]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  Client before(port);
  REQUIRE(before.SendAll("ping"));
  REQUIRE(before.Receive(4) == "ping");
  h.Toxic("echo", R"({"type":"latency","attributes":{"latency":150}})");
  for (Client* c : {&before}) {
    const auto start = Clock::now();
    REQUIRE(c->SendAll("ping"));
    REQUIRE(c->Receive(4) == "ping");
    CHECK(Millis(Clock::now() - start) >= 150);
  }
  Client after(port);
  const auto start = Clock::now();
  REQUIRE(after.SendAll("ping"));
  REQUIRE(after.Receive(4) == "ping");
  const double rtt = Millis(Clock::now() - start);
  CHECK(rtt >= 150);
  CHECK(rtt < 2000);
}

TEST_CASE("bandwidth limits throughput", "[integration][proxy][bandwidth]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  h.Toxic("echo", R"({"type":"bandwidth","attributes":{"rate":100}})");  // 100 KB/s down
  Client client(port);
  const std::string payload = RandomBytes(50'000, 3);
  const auto start = Clock::now();
  REQUIRE(client.SendAll(payload));
  CHECK(client.Receive(payload.size()) == payload);
  const double ms = Millis(Clock::now() - start);
  CHECK(ms >= 400);
  CHECK(ms < 5000);
}

TEST_CASE("timeout drops data and closes the connection", "[integration][proxy][timeout]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  h.Toxic("echo", R"({"type":"timeout","attributes":{"timeout":200}})");
  Client client(port);
  const auto start = Clock::now();
  REQUIRE(client.SendAll("never echoed"));
  int error = -1;
  CHECK(client.ReceiveUntilEnd(&error).empty());
  CHECK(error == 0);  // a clean close, not a read timeout
  const double ms = Millis(Clock::now() - start);
  CHECK(ms >= 150);
  CHECK(ms < 5000);
}

TEST_CASE("reset_peer resets the connection", "[integration][proxy][reset_peer]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  h.Toxic("echo", R"({"type":"reset_peer","stream":"upstream","attributes":{"timeout":50}})");
  Client client(port);
  REQUIRE(client.SendAll("request"));
  int error = -1;
  client.ReceiveUntilEnd(&error);
  CHECK(error == ECONNRESET);
}

TEST_CASE("limit_data passes exactly the limit, then closes", "[integration][proxy][limit_data]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  h.Toxic("echo", R"({"type":"limit_data","attributes":{"bytes":1000}})");
  Client client(port);
  const std::string payload = RandomBytes(5000, 4);
  REQUIRE(client.SendAll(payload));
  int error = -1;
  const std::string got = client.ReceiveUntilEnd(&error);
  CHECK(got == payload.substr(0, 1000));
}

TEST_CASE("slow_close delays the close and slicer keeps every byte",
          "[integration][proxy][slow_close][slicer]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  h.Toxic("echo", R"({"type":"slow_close","attributes":{"delay":300}})");
  h.Toxic(
      "echo",
      R"({"type":"slicer","stream":"upstream","attributes":{"average_size":64,"size_variation":16,"delay":10}})");
  Client client(port);
  const std::string payload = RandomBytes(20'000, 5);
  REQUIRE(client.SendAll(payload));
  CHECK(client.Receive(payload.size()) == payload);
  const auto start = Clock::now();
  client.ShutdownWrite();
  int error = -1;
  CHECK(client.ReceiveUntilEnd(&error).empty());
  CHECK(error == 0);
  CHECK(Millis(Clock::now() - start) >= 250);
}

TEST_CASE("disabling closes connections and refuses new ones; enabling reopens",
          "[integration][proxy][toggle]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  Client open(port);
  REQUIRE(open.SendAll("x"));
  REQUIRE(open.Receive(1) == "x");
  REQUIRE(h.Call("PATCH", "/proxies/echo", R"({"enabled":false})").status == 200);
  CHECK(open.ReceiveUntilEnd().empty());  // EOF, promptly
  CHECK_FALSE(Client(port).connected());  // refused
  REQUIRE(h.Call("PATCH", "/proxies/echo", R"({"enabled":true})").status == 200);
  Client again(port);
  REQUIRE(again.connected());
  REQUIRE(again.SendAll("y"));
  CHECK(again.Receive(1) == "y");
}

TEST_CASE("a client that resets mid-stream does not kill the proxy with SIGPIPE",
          "[integration][proxy][live]") {
  // The echo's replies are spliced to the client, and splice() into a socket whose peer has
  // gone raises SIGPIPE, whose default action (this process keeps it) kills the process
  // hosting the proxy. A toxic on the client's direction makes the proxy peek at its data
  // too, where a reset must end the connection rather than pass for the client's end.
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  h.Toxic("echo", R"({"type":"latency","stream":"upstream","attributes":{"latency":1}})");
  const std::string chunk = RandomBytes(256 << 10, 9);
  std::vector<char> sink(256 << 10);
  for (int i = 0; i < 30; ++i) {
    Client client(port);
    REQUIRE(client.connected());
    ::fcntl(client.fd(), F_SETFL, ::fcntl(client.fd(), F_GETFL) | O_NONBLOCK);
    // Both directions streaming when the reset comes.
    std::size_t echoed = 0;
    for (const auto until = Clock::now() + 50ms; Clock::now() < until || echoed == 0;) {
      ::send(client.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
      const ssize_t n = ::recv(client.fd(), sink.data(), sink.size(), 0);
      if (n > 0) echoed += static_cast<std::size_t>(n);
    }
    const linger reset{1, 0};
    ::setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
  Client after(port);
  REQUIRE(after.SendAll("still here"));
  CHECK(after.Receive(10) == "still here");
}

TEST_CASE("a stream bigger than what toxics may hold keeps flowing", "[integration][proxy][live]") {
  // A latency toxic holds up to 4 MiB, then reading stops; as the held data drains out, reading
  // must resume even when every write completes at once.
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  h.Toxic("echo", R"({"type":"latency","stream":"upstream","attributes":{"latency":30}})");
  Client client(port);
  const std::string payload = RandomBytes(12 << 20, 5);
  bool sent = false;
  std::thread writer([&] { sent = client.SendAll(payload); });
  const std::string back = client.Receive(payload.size());
  writer.join();
  CHECK(sent);
  CHECK(back.size() == payload.size());
  CHECK(Checksum(back) == Checksum(payload));
}

TEST_CASE("toxics change under a live stream without losing a byte", "[integration][proxy][live]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  Client client(port, 30s);
  const std::string payload = RandomBytes(24 << 20, 6);
  std::atomic<bool> done{false};
  bool sent = true;
  std::thread writer([&] {
    // Send in pieces so the stream is in flight while toxics come and go.
    for (std::size_t at = 0; sent && at < payload.size(); at += 64 << 10) {
      sent = client.SendAll(payload.substr(at, 64 << 10));
    }
  });
  // API answers are collected here and checked on the test's own thread.
  std::vector<std::string> api_errors;
  std::thread churn([&] {
    auto call = [&](std::string_view method, const std::string& path, const std::string& body) {
      auto reply = cli::HttpCall(h.url, method, path, body);
      if (!reply) {
        api_errors.push_back(std::string(method) + " " + path + ": " + reply.message());
      } else if (reply->status / 100 != 2) {
        api_errors.push_back(std::string(method) + " " + path + ": " + reply->body);
      }
    };
    const char* toxics[] = {
        R"({"name":"lat","type":"latency","stream":"upstream","attributes":{"latency":2,"jitter":1}})",
        R"({"name":"cut","type":"slicer","attributes":{"average_size":500,"size_variation":100}})",
        R"({"name":"bw","type":"bandwidth","attributes":{"rate":200000}})",
        R"({"name":"stall","type":"bandwidth","stream":"upstream","attributes":{"rate":0}})"};
    for (int round = 0; !done && round < 200; ++round) {
      const char* body = toxics[round % 4];
      const std::string name = bj::parse(body).as_object().at("name").as_string().c_str();
      call("POST", "/proxies/echo/toxics", body);
      call("PATCH", "/proxies/echo/toxics/" + name, R"({"toxicity":1})");
      std::this_thread::yield();
      call("DELETE", "/proxies/echo/toxics/" + name, "");
    }
  });
  const std::string back = client.Receive(payload.size());
  done = true;
  churn.join();
  writer.join();
  CHECK(sent);
  CHECK(api_errors.empty());
  CHECK(back.size() == payload.size());
  CHECK(Checksum(back) == Checksum(payload));
}

TEST_CASE("removing a toxic returns promptly while connections are blocked in it",
          "[integration][proxy][live]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  h.Toxic("echo",
          R"({"name":"cut_up","type":"bandwidth","stream":"upstream","attributes":{"rate":0}})");
  h.Toxic("echo", R"({"name":"cut_down","type":"bandwidth","attributes":{"rate":0}})");
  std::vector<Client> clients;
  for (int i = 0; i < 8; ++i) clients.emplace_back(port, 30s);
  const std::string payload = RandomBytes(2 << 20, 7);
  std::vector<std::thread> writers;
  for (auto& c : clients) writers.emplace_back([&] { c.SendAll(payload); });
  std::this_thread::sleep_for(200ms);  // let the stalled data pile up (not synchronisation)
  const auto start = Clock::now();
  REQUIRE(h.Call("DELETE", "/proxies/echo/toxics/cut_up").status == 204);
  REQUIRE(h.Call("PATCH", "/proxies/echo/toxics/cut_down", R"({"attributes":{"rate":1000000}})")
              .status == 200);
  REQUIRE(h.Call("DELETE", "/proxies/echo/toxics/cut_down").status == 204);
  CHECK(Millis(Clock::now() - start) < 1000);
  for (auto& c : clients) CHECK(Checksum(c.Receive(payload.size())) == Checksum(payload));
  for (auto& w : writers) w.join();
}

TEST_CASE("200 concurrent clients are all served", "[integration][proxy][concurrency]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  std::vector<Client> clients;
  for (int i = 0; i < 200; ++i) {
    clients.emplace_back(port, 30s);
    REQUIRE(clients.back().connected());
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    REQUIRE(clients[i].SendAll(RandomBytes(4096, i)));
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    CHECK(clients[i].Receive(4096) == RandomBytes(4096, i));
  }
  auto metrics = h.Call("GET", "/metrics").body;
  CHECK(metrics.find("faultline_proxy_connections_active{proxy=\"echo\"} 200") !=
        std::string::npos);
  CHECK(metrics.find("faultline_proxy_connections_total{proxy=\"echo\"} 200") != std::string::npos);
}

TEST_CASE("byte metrics move while a connection is still open", "[integration][proxy][metrics]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("echo", echo.address());
  h.Toxic("echo", R"({"type":"latency","attributes":{"latency":1}})");
  Client client(port);
  REQUIRE(client.SendAll(std::string(1000, 'x')));
  REQUIRE(client.Receive(1000).size() == 1000);
  auto metrics = h.Call("GET", "/metrics").body;
  CHECK(metrics.find("faultline_proxy_bytes_total{direction=\"upstream\",proxy=\"echo\"} 1000") !=
        std::string::npos);
  CHECK(metrics.find("faultline_proxy_bytes_total{direction=\"downstream\",proxy=\"echo\"} 1000") !=
        std::string::npos);
  // Labelled by kind, never by the toxic's own name: a nemesis makes thousands of names.
  CHECK(
      metrics.find("faultline_proxy_toxic_activations_total{kind=\"latency\",proxy=\"echo\"} 1") !=
      std::string::npos);
}

TEST_CASE("an upstream that refuses closes the client's connection", "[integration][proxy]") {
  Harness h;
  std::uint16_t dead_port;
  {
    EchoServer gone;
    dead_port = gone.port();
  }
  const auto port = h.Proxy("dead", "127.0.0.1:" + std::to_string(dead_port));
  Client client(port);
  REQUIRE(client.connected());
  int error = -1;
  CHECK(client.ReceiveUntilEnd(&error).empty());
  // The proxy keeps serving the API and other proxies.
  CHECK(h.Call("GET", "/version").status == 200);
}

TEST_CASE("an upstream name is looked up for each connection, off the API's thread",
          "[integration][proxy][lookup]") {
  EchoServer echo;
  // A stand-in for DNS: "store.test" does not resolve at first, then points at the echo
  // server, and "slow.test" never answers within the lookup budget.
  std::atomic<bool> store_exists{false};
  std::atomic<int> lookups{0};
  std::promise<void> never;
  std::shared_future<void> blocked = never.get_future().share();
  // The hung lookup's thread outlives its budget, and may outlive this test: it holds its own
  // copy of the future, not a reference into this frame.
  Harness h([&lookups, &store_exists, blocked](
                const std::string& host,
                const std::string& port) -> core::Result<std::vector<proxy::Address>> {
    ++lookups;
    if (host == "slow.test") blocked.wait_for(30s);
    if (host == "store.test" && store_exists) {
      return std::vector<proxy::Address>{
          {"127.0.0.1", static_cast<std::uint16_t>(std::stoi(port))}};
    }
    return core::MakeError("cannot resolve " + host + ": no such host");
  });
  const auto port = h.Proxy("store", "store.test:" + std::to_string(echo.port()));
  CHECK(lookups == 0);  // creating it looked nothing up

  {  // The name does not resolve yet: the connection closes and the event says why.
    Client client(port);
    REQUIRE(client.connected());
    int error = -1;
    CHECK(client.ReceiveUntilEnd(&error).empty());
    const std::string events = h.Call("GET", "/events").body;
    CHECK(events.find("upstream_unresolved") != std::string::npos);
    CHECK(events.find("store.test") != std::string::npos);
  }
  store_exists = true;
  {  // The next connection looks the name up again and reaches the service.
    Client client(port);
    REQUIRE(client.SendAll("ping"));
    CHECK(client.Receive(4) == "ping");
  }
  CHECK(lookups == 2);

  // A lookup that hangs holds up its connection only, never the API.
  const auto slow = h.Proxy("slow", "slow.test:" + std::to_string(echo.port()));
  Client waiting(slow);
  REQUIRE(waiting.connected());
  REQUIRE(WaitUntil([&] { return lookups == 3; }, 10s));
  const auto start = Clock::now();
  CHECK(h.Call("GET", "/version").status == 200);
  CHECK(h.Call("POST", "/proxies/slow/toxics", R"({"type":"latency","attributes":{"latency":1}})")
            .status == 200);
  CHECK(Millis(Clock::now() - start) < 1000);
  never.set_value();
}

namespace {

// The peak resident set of this process so far, in KiB.
long PeakRssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace

TEST_CASE("a duplicate toxic cannot take the proxy past its memory budget",
          "[integration][proxy][budget]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("dup", echo.address());
  // 1000 copies of every 1 MiB frame would be a gigabyte per frame.
  h.Toxic("dup", R"({"type":"duplicate","stream":"upstream","attributes":{"framing":"fixed",)"
                 R"("frame_size":1048576,"copies":1000}})");
  const long before = PeakRssKib();
  Client client(port, 30s);
  const std::string payload = RandomBytes(8 << 20, 11);
  bool sent = false;
  std::thread writer([&] { sent = client.SendAll(payload); });
  // At least the originals come back; copies as far as the budget allows.
  CHECK(client.Receive(payload.size()).size() == payload.size());
  writer.join();
  CHECK(sent);
  const long grown_mib = (PeakRssKib() - before) / 1024;
  INFO("peak RSS grew by " << grown_mib << " MiB");
  CHECK(grown_mib < 200);
  const std::string events = h.Call("GET", "/events").body;
  CHECK(events.find("\"shed\"") != std::string::npos);
}
