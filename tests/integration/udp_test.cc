// UDP proxies over real loopback sockets, driven through the HTTP API. Every exchange waits
// for its replies (poll with a timeout) instead of sleeping, and sequence checks do not depend
// on timing: the only datagrams a toxic could miss are ones the kernel lost, and the sockets'
// buffers are large and the traffic paced so that does not happen on loopback.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "support/proxy_harness.h"

using namespace faultline;
using namespace std::chrono_literals;
namespace bj = boost::json;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kSocketBuffer = 4 << 20;

int OpenUdpSocket() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBuffer, sizeof kSocketBuffer);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBuffer, sizeof kSocketBuffer);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

std::uint16_t LocalPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

// Sends every datagram straight back to whoever sent it, on its own thread.
class UdpEchoServer {
 public:
  UdpEchoServer() : fd_(OpenUdpSocket()), port_(LocalPort(fd_)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~UdpEchoServer() {
    stopping_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void Serve() {
    std::vector<char> buffer(64 << 10);
    while (!stopping_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      sockaddr_in from{};
      socklen_t length = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &length);
      if (n < 0) continue;
      ::sendto(fd_, buffer.data(), static_cast<std::size_t>(n), 0,
               reinterpret_cast<sockaddr*>(&from), length);
    }
  }

  int fd_;
  std::uint16_t port_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// A client socket connected to the proxy: it sees only the proxy's datagrams.
class UdpClient {
 public:
  explicit UdpClient(std::uint16_t port) : fd_(OpenUdpSocket()) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~UdpClient() { ::close(fd_); }
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;

  void Send(const std::string& datagram) {
    REQUIRE(::send(fd_, datagram.data(), datagram.size(), 0) ==
            static_cast<ssize_t>(datagram.size()));
  }
  // The next datagram, or nothing if none arrives within `timeout`.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout = 5s) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    std::vector<char> buffer(64 << 10);
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    return std::string(buffer.data(), static_cast<std::size_t>(n));
  }

 private:
  int fd_;
};

// The proxy harness, creating UDP proxies.
struct UdpHarness : testing::Harness {
  std::uint16_t Proxy(const std::string& name, const std::string& upstream,
                      const std::string& extra = "") {
    return testing::Harness::Proxy(name, upstream, R"(,"protocol":"udp")" + extra);
  }
  void Delete(const std::string& proxy) {
    REQUIRE(Call("DELETE", "/proxies/" + proxy).status == 204);
  }
};

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Sends 2000 datagrams "d<i>" through a fresh proxy seeded `seed` that drops 30% of them, and
// returns the indexes that did not come back. Each is followed by a marker "s<i>" the toxic
// does not match (so it draws nothing for it); once the marker is back, so is "d<i>" if it
// survived, as nothing reorders on this path.
std::set<int> DroppedWithSeed(UdpHarness& h, const std::string& upstream, std::uint64_t seed) {
  const auto port = h.Proxy("lossy", upstream, R"(,"seed":)" + std::to_string(seed));
  h.Toxic("lossy",
          R"({"type":"drop","stream":"upstream","attributes":{"probability":0.3,"match":"^d"}})");
  UdpClient client(port);
  std::set<int> dropped;
  for (int i = 0; i < 2000; ++i) {
    client.Send("d" + std::to_string(i));
    client.Send("s" + std::to_string(i));
    bool delivered = false;
    for (;;) {
      auto reply = client.Receive();
      REQUIRE(reply);
      if (*reply == "s" + std::to_string(i)) break;
      REQUIRE(*reply == "d" + std::to_string(i));
      delivered = true;
    }
    if (!delivered) dropped.insert(i);
  }
  h.Delete("lossy");
  return dropped;
}

// 100 datagrams in windows of 4 through a fresh proxy seeded `seed` that permutes every
// window; returns them in the order they came back.
std::vector<std::string> ReorderedWithSeed(UdpHarness& h, const std::string& upstream,
                                           std::uint64_t seed) {
  const auto port = h.Proxy("shuffle", upstream, R"(,"seed":)" + std::to_string(seed));
  // max_wait far beyond the test: a window leaves only once it is full, never on a timer.
  h.Toxic("shuffle", R"({"type":"reorder","stream":"upstream",)"
                     R"("attributes":{"window":4,"probability":1,"max_wait":60000}})");
  UdpClient client(port);
  std::vector<std::string> order;
  for (int window = 0; window < 25; ++window) {
    for (int i = 0; i < 4; ++i) client.Send("r" + std::to_string(window * 4 + i));
    for (int i = 0; i < 4; ++i) {
      auto reply = client.Receive();
      REQUIRE(reply);
      order.push_back(*reply);
    }
  }
  h.Delete("shuffle");
  return order;
}

}  // namespace

TEST_CASE("udp: datagrams relay both ways and each client gets its own replies",
          "[integration][udp]") {
  UdpEchoServer echo;
  UdpHarness h;
  const auto port = h.Proxy("u", echo.address());
  UdpClient a(port);
  UdpClient b(port);
  for (int i = 0; i < 50; ++i) {
    a.Send("a" + std::to_string(i));
    b.Send("b" + std::to_string(i));
    CHECK(a.Receive() == "a" + std::to_string(i));
    CHECK(b.Receive() == "b" + std::to_string(i));
  }
  // A large datagram arrives whole.
  const std::string big(60000, 'x');
  a.Send(big);
  CHECK(a.Receive() == big);
  CHECK(!a.Receive(100ms));
  CHECK(!b.Receive(100ms));

  const std::string metrics = h.Call("GET", "/metrics").body;
  CHECK(metrics.find("faultline_proxy_connections_total{proxy=\"u\"} 2") != std::string::npos);
  CHECK(metrics.find("faultline_proxy_connections_active{proxy=\"u\"} 2") != std::string::npos);

  // Disabled, it relays nothing; enabled again, on the same port, it does.
  REQUIRE(h.Call("POST", "/proxies/u", R"({"enabled":false})").status == 200);
  a.Send("lost");
  CHECK(!a.Receive(200ms));
  auto enabled = h.Call("POST", "/proxies/u", R"({"enabled":true})");
  REQUIRE(enabled.status == 200);
  CHECK(bj::parse(enabled.body).as_object().at("listen").as_string() ==
        "127.0.0.1:" + std::to_string(port));
  a.Send("again");
  CHECK(a.Receive() == "again");
  // A new flow, numbered on from before: flows count like the connections of a TCP proxy.
  CHECK(h.Call("GET", "/metrics").body.find("faultline_proxy_connections_total{proxy=\"u\"} 3") !=
        std::string::npos);
}

TEST_CASE("udp: drop loses its share of datagrams, the same ones for the same seed",
          "[integration][udp][drop]") {
  UdpEchoServer echo;
  UdpHarness h;
  const std::set<int> first = DroppedWithSeed(h, echo.address(), 42);
  const double share = static_cast<double>(first.size()) / 2000.0;
  CHECK(share > 0.25);
  CHECK(share < 0.35);
  const std::set<int> again = DroppedWithSeed(h, echo.address(), 42);
  CHECK(again == first);
  const std::set<int> other = DroppedWithSeed(h, echo.address(), 43);
  CHECK(other != first);

  // Each decision is in the event log, on the proxy's first flow; "d<i>" is its frame 2i+1.
  const bj::value events = bj::parse(h.Call("GET", "/events?since=0&limit=1").body);
  const bj::object& event = events.at("events").as_array().at(0).as_object();
  CHECK(event.at("proxy").as_string() == "lossy");
  CHECK(event.at("connection").to_number<int>() == 1);
  CHECK(event.at("direction").as_string() == "upstream");
  CHECK(event.at("action").as_string() == "drop");
  CHECK(event.at("frame").to_number<int>() == 2 * *first.begin() + 1);
}

TEST_CASE("udp: duplicate with probability 1 delivers every datagram twice",
          "[integration][udp][duplicate]") {
  UdpEchoServer echo;
  UdpHarness h;
  const auto port = h.Proxy("twice", echo.address());
  h.Toxic("twice", R"({"type":"duplicate","stream":"upstream","attributes":{"probability":1}})");
  UdpClient client(port);
  for (int i = 0; i < 200; ++i) {
    const std::string datagram = "x" + std::to_string(i);
    client.Send(datagram);
    CHECK(client.Receive() == datagram);
    CHECK(client.Receive() == datagram);
  }
  CHECK(!client.Receive(200ms));
}

TEST_CASE("udp: reorder permutes whole datagrams, the same way for the same seed",
          "[integration][udp][reorder]") {
  UdpEchoServer echo;
  UdpHarness h;
  std::vector<std::string> sent;
  for (int i = 0; i < 100; ++i) sent.push_back("r" + std::to_string(i));

  const auto first = ReorderedWithSeed(h, echo.address(), 9);
  CHECK(first != sent);
  auto sorted = first;
  auto expected = sent;
  std::sort(sorted.begin(), sorted.end());
  std::sort(expected.begin(), expected.end());
  CHECK(sorted == expected);
  // Every window of 4 is permuted within itself.
  for (std::size_t w = 0; w < 25; ++w) {
    std::vector<std::string> got(first.begin() + w * 4, first.begin() + w * 4 + 4);
    std::vector<std::string> want(sent.begin() + w * 4, sent.begin() + w * 4 + 4);
    CHECK(got != want);
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    CHECK(got == want);
  }
  CHECK(ReorderedWithSeed(h, echo.address(), 9) == first);
  CHECK(ReorderedWithSeed(h, echo.address(), 10) != first);
}

TEST_CASE("udp: latency delays round trips on live and new flows", "[integration][udp][latency]") {
  UdpEchoServer echo;
  UdpHarness h;
  const auto port = h.Proxy("slow", echo.address());
  UdpClient before(port);
  before.Send("warm");
  REQUIRE(before.Receive() == "warm");
  h.Toxic("slow", R"({"type":"latency","attributes":{"latency":50}})");
  UdpClient after(port);
  for (UdpClient* client : {&before, &after}) {
    const auto start = Clock::now();
    client->Send("ping");
    REQUIRE(client->Receive() == "ping");
    const double rtt = Millis(Clock::now() - start);
    CHECK(rtt >= 50);
    CHECK(rtt < 2000);
  }
}

TEST_CASE("udp: bandwidth paces datagrams without splitting them",
          "[integration][udp][bandwidth]") {
  UdpEchoServer echo;
  UdpHarness h;
  const auto port = h.Proxy("narrow", echo.address());
  // 100 KB/s: a 100 ms piece is 10,000 bytes, smaller than each datagram, yet each arrives
  // whole; the three take about 600 ms.
  h.Toxic("narrow", R"({"type":"bandwidth","attributes":{"rate":100}})");
  UdpClient client(port);
  const auto start = Clock::now();
  for (int i = 0; i < 3; ++i) client.Send(std::string(20000, static_cast<char>('a' + i)));
  for (int i = 0; i < 3; ++i) {
    CHECK(client.Receive() == std::string(20000, static_cast<char>('a' + i)));
  }
  const double elapsed = Millis(Clock::now() - start);
  CHECK(elapsed >= 400);
  CHECK(elapsed < 5000);
}

TEST_CASE("udp: the API rejects what a UDP proxy cannot do", "[integration][udp][api]") {
  UdpEchoServer echo;
  UdpHarness h;
  const auto port = h.Proxy("u", echo.address());

  auto slicer =
      h.Call("POST", "/proxies/u/toxics", R"({"type":"slicer","attributes":{"average_size":10}})");
  CHECK(slicer.status == 400);
  CHECK(slicer.body.find("toxic type 'slicer' is not supported on a UDP proxy") !=
        std::string::npos);
  auto line =
      h.Call("POST", "/proxies/u/toxics", R"({"type":"drop","attributes":{"framing":"line"}})");
  CHECK(line.status == 400);
  CHECK(line.body.find("framing 'line'") != std::string::npos);
  auto sctp = h.Call("POST", "/proxies",
                     R"({"name":"s","upstream":")" + echo.address() + R"(","protocol":"sctp"})");
  CHECK(sctp.status == 400);
  CHECK(sctp.body.find("protocol 'sctp'") != std::string::npos);

  // At creation too, and /populate changes nothing when one entry is wrong.
  auto created =
      h.Call("POST", "/proxies",
             R"({"name":"v","upstream":")" + echo.address() +
                 R"(","protocol":"udp","toxics":[{"type":"timeout","attributes":{"timeout":1}}]})");
  CHECK(created.status == 400);
  CHECK(created.body.find("toxic type 'timeout' is not supported on a UDP proxy") !=
        std::string::npos);
  auto populated = h.Call(
      "POST", "/populate",
      R"([{"name":"w","upstream":")" + echo.address() +
          R"(","protocol":"udp","toxics":[{"type":"latency","attributes":{"latency":1}}]},)"
          R"({"name":"x","upstream":")" +
          echo.address() +
          R"(","protocol":"udp","toxics":[{"type":"limit_data","attributes":{"bytes":1}}]}])");
  CHECK(populated.status == 400);
  CHECK(h.Call("GET", "/proxies/w").status == 404);

  // The protocol is fixed; sending it back unchanged is fine (clients echo the whole proxy).
  CHECK(h.Call("POST", "/proxies/u", R"({"protocol":"tcp"})").status == 400);
  CHECK(h.Call("POST", "/proxies/u", R"({"protocol":"udp","enabled":true})").status == 200);

  // The listen address in use: 409, as for TCP.
  auto taken = h.Call("POST", "/proxies",
                      R"({"name":"y","listen":"127.0.0.1:)" + std::to_string(port) +
                          R"(","upstream":")" + echo.address() + R"(","protocol":"udp"})");
  CHECK(taken.status == 409);

  // Supported toxics are accepted, and a TCP proxy's output has no protocol field.
  h.Toxic("u", R"({"type":"reorder","attributes":{"window":3}})");
  auto tcp = h.Call("POST", "/proxies", R"({"name":"t","upstream":")" + echo.address() + R"("})");
  REQUIRE(tcp.status == 201);
  CHECK(!bj::parse(tcp.body).as_object().contains("protocol"));
}
