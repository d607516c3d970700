// faultline's own faults over real loopback sockets: reordering, holds that force an
// interleaving, connection faults, targeting and the event log, driven through the HTTP API.

#include <fcntl.h>
#include <sys/epoll.h>

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "support/lines.h"
#include "support/net.h"
#include "support/proxy_harness.h"

using namespace faultline;
using namespace faultline::testing;
using namespace std::chrono_literals;
namespace bj = boost::json;

namespace {

// Accepts connections and records each complete line in the order it arrives, as one
// event loop sees it: epoll reports sockets in the order they became readable.
class LineRecorder {
 public:
  LineRecorder() {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(listener_, 128) == 0);
    socklen_t length = sizeof address;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    Watch(listener_);
    Watch(wake_[0]);
    thread_ = std::thread([this] { Run(); });
  }
  ~LineRecorder() {
    stopping_ = true;
    const char byte = 0;
    (void)!write(wake_[1], &byte, 1);
    thread_.join();
    for (auto& [fd, partial] : partial_) close(fd);
    close(listener_);
    close(epoll_);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Waits until `count` connections have been accepted in all (or 10 s passed).
  bool WaitAccepted(std::size_t count) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, 10s, [&] { return accepted_ >= count; });
  }
  // Waits until `count` lines have arrived (or 10 s passed) and takes them.
  std::vector<std::string> Take(std::size_t count) {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, 10s, [&] { return lines_.size() >= count; });
    std::vector<std::string> taken;
    taken.swap(lines_);
    return taken;
  }

 private:
  void Watch(int fd) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
  }
  void Run() {
    epoll_event events[64];
    while (!stopping_) {
      const int ready = epoll_wait(epoll_, events, 64, 1000);
      for (int i = 0; i < ready; ++i) {
        const int fd = events[i].data.fd;
        if (fd == wake_[0]) return;
        if (fd == listener_) {
          const int conn = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
          if (conn >= 0) {
            partial_[conn];
            Watch(conn);
            std::lock_guard lock(mutex_);
            ++accepted_;
            arrived_.notify_all();
          }
          continue;
        }
        char buffer[4096];
        const ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0) {
          epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
          partial_.erase(fd);
          close(fd);
          continue;
        }
        std::string& partial = partial_[fd];
        partial.append(buffer, static_cast<std::size_t>(n));
        std::size_t newline;
        while ((newline = partial.find('\n')) != std::string::npos) {
          std::lock_guard lock(mutex_);
          lines_.push_back(partial.substr(0, newline));
          partial.erase(0, newline + 1);
          arrived_.notify_all();
        }
      }
    }
  }

  int listener_ = -1;
  int epoll_ = -1;
  int wake_[2] = {-1, -1};
  bool pipe_ok_ = pipe2(wake_, O_CLOEXEC) == 0;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::map<int, std::string> partial_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::string> lines_;
  std::size_t accepted_ = 0;
  std::thread thread_;
};

std::string Numbered(int count) {
  std::string text;
  for (int i = 1; i <= count; ++i) text += "line " + std::to_string(i) + "\n";
  return text;
}

bj::value Json(const std::string& body) { return bj::parse(body); }

}  // namespace

TEST_CASE("reorder permutes lines by seed and delivers every one", "[integration][reorder]") {
  EchoServer echo;
  Harness h;
  const std::string request = Numbered(40);
  // Echoed lines, through a proxy created afresh with `seed`.
  auto run = [&](std::uint64_t seed) {
    const auto port = h.Proxy("lines", echo.address(), R"(,"seed":)" + std::to_string(seed));
    h.Toxic("lines",
            R"({"type":"reorder","stream":"upstream","attributes":{"framing":"line","window":4}})");
    Client client(port);
    REQUIRE(client.SendAll(request));
    const std::string reply = client.Receive(request.size());
    REQUIRE(h.Call("DELETE", "/proxies/lines").status == 204);
    return SplitLines(reply);
  };
  const auto first = run(11);
  REQUIRE(first.size() == 40);
  CHECK(first != SplitLines(request));
  auto sorted = first;
  auto expected = SplitLines(request);
  std::sort(sorted.begin(), sorted.end());
  std::sort(expected.begin(), expected.end());
  CHECK(sorted == expected);  // nothing lost, nothing added
  CHECK(run(11) == first);    // same seed, same permutation
  CHECK(run(12) != first);
}

TEST_CASE("hold and release_on force B's message before A's, 100 times out of 100",
          "[integration][hold]") {
  LineRecorder recorder;
  Harness h;
  const auto port_a = h.Proxy("a", recorder.address());
  const auto port_b = h.Proxy("b", recorder.address());
  std::size_t accepted = 0;
  // Both proxies have connected upstream before a round sends anything.
  auto both_connected = [&] {
    accepted += 2;
    REQUIRE(recorder.WaitAccepted(accepted));
  };
  auto holds = [&] { return Json(h.Call("GET", "/holds").body).at("holds").as_array().size(); };

  // Without the hold, A's line is delivered on its own: nothing makes it wait for B.
  {
    Client a(port_a);
    Client b(port_b);
    both_connected();
    REQUIRE(a.SendAll("A\n"));
    CHECK(recorder.Take(1) == std::vector<std::string>{"A"});
    REQUIRE(b.SendAll("B\n"));
    CHECK(recorder.Take(1) == std::vector<std::string>{"B"});
  }

  h.Toxic("a", R"({"name":"wait_for_b","type":"hold","stream":"upstream",
                   "attributes":{"framing":"line","frame":1,"release_on":"b/b_sent"}})");
  h.Toxic("b", R"({"name":"b_sent","type":"point","stream":"upstream",
                   "attributes":{"framing":"line","frame":1}})");
  // With it, A's line is parked (listed under /holds) and reaches the service only after B's.
  {
    Client a(port_a);
    Client b(port_b);
    both_connected();
    REQUIRE(a.SendAll("A\n"));
    for (int i = 0; i < 2000 && holds() == 0; ++i) std::this_thread::sleep_for(5ms);  // polling
    REQUIRE(holds() == 1);
    REQUIRE(b.SendAll("B\n"));
    CHECK(recorder.Take(2) == std::vector<std::string>{"B", "A"});
  }
  // And whatever the threads' timing, when both are sent at once.
  int b_first = 0;
  for (int i = 0; i < 100; ++i) {
    Client a(port_a);
    Client b(port_b);
    both_connected();
    REQUIRE(a.SendAll("A\n"));
    REQUIRE(b.SendAll("B\n"));
    const auto order = recorder.Take(2);
    REQUIRE(order.size() == 2);
    b_first += order == std::vector<std::string>{"B", "A"};
  }
  CHECK(b_first == 100);
}

TEST_CASE("holds are listed and released through the API", "[integration][hold][api]") {
  LineRecorder recorder;
  Harness h;
  const auto port = h.Proxy("svc", recorder.address());
  h.Toxic("svc", R"({"name":"gate","type":"hold","stream":"upstream",
                     "attributes":{"framing":"line","match":"^COMMIT"}})");
  Client client(port);
  REQUIRE(client.SendAll("BEGIN\nCOMMIT\n"));
  CHECK(recorder.Take(1) == std::vector<std::string>{"BEGIN"});
  // The hold is listed once the COMMIT line reached it.
  bj::array holds;
  for (int i = 0; i < 200 && holds.empty(); ++i) {
    holds = Json(h.Call("GET", "/holds").body).at("holds").as_array();
    if (holds.empty()) std::this_thread::sleep_for(5ms);  // polling the API, not a wait on it
  }
  REQUIRE(holds.size() == 1);
  CHECK(holds[0].at("proxy") == "svc");
  CHECK(holds[0].at("hold") == "gate");
  CHECK(holds[0].at("direction") == "upstream");
  CHECK(holds[0].at("connection") == 1);

  CHECK(h.Call("POST", "/proxies/svc/holds/nope/release").status == 404);
  CHECK(h.Call("POST", "/proxies/nope/holds/gate/release").status == 404);
  auto released = h.Call("POST", "/proxies/svc/holds/gate/release");
  CHECK(released.status == 200);
  CHECK(Json(released.body).at("released").as_array().size() == 1);
  CHECK(recorder.Take(1) == std::vector<std::string>{"COMMIT"});
  auto twice = h.Call("POST", "/proxies/svc/holds/gate/release");
  CHECK(twice.status == 409);
  CHECK(Json(twice.body).at("error").as_string().find("not holding anything") != bj::string::npos);
  CHECK(Json(h.Call("GET", "/holds").body).at("holds").as_array().empty());
}

TEST_CASE("connect_refuse resets the client without contacting the upstream",
          "[integration][connect]") {
  LineRecorder recorder;
  Harness h;
  const auto port = h.Proxy("svc", recorder.address());
  h.Toxic("svc", R"({"type":"connect_refuse","target":{"connection":1}})");
  Client refused(port);
  int error = 0;
  CHECK(refused.ReceiveUntilEnd(&error).empty());
  CHECK(error == ECONNRESET);
  Client second(port);  // the target is the first connection only
  REQUIRE(second.SendAll("hello\n"));
  CHECK(recorder.Take(1) == std::vector<std::string>{"hello"});
}

TEST_CASE("connect_delay holds the upstream connect back", "[integration][connect]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("svc", echo.address());
  h.Toxic("svc", R"({"type":"connect_delay","attributes":{"delay":150}})");
  const auto start = std::chrono::steady_clock::now();
  Client client(port);
  REQUIRE(client.SendAll("x"));
  CHECK(client.Receive(1) == "x");
  CHECK(std::chrono::steady_clock::now() - start >= 150ms);
}

TEST_CASE("fault decisions appear in the event log", "[integration][events]") {
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("svc", echo.address());
  h.Toxic("svc", R"({"name":"lose_second","type":"drop","stream":"upstream",
                     "attributes":{"framing":"line","frame":2}})");
  Client client(port);
  REQUIRE(client.SendAll("one\ntwo\nthree\n"));
  CHECK(client.Receive(10) == "one\nthree\n");
  auto page = Json(h.Call("GET", "/events?since=0").body).as_object();
  auto events = page.at("events").as_array();
  REQUIRE(events.size() == 1);
  CHECK(events[0].at("action") == "drop");
  CHECK(events[0].at("toxic") == "lose_second");
  CHECK(events[0].at("frame") == 2);
  CHECK(events[0].at("connection") == 1);
  CHECK(events[0].at("direction") == "upstream");
  const auto next = page.at("next").to_number<std::uint64_t>();
  CHECK(Json(h.Call("GET", "/events?since=" + std::to_string(next)).body)
            .at("events")
            .as_array()
            .empty());
  CHECK(h.Call("GET", "/events?since=minus").status == 400);
}

TEST_CASE("a frame toxic firing deep inside a bulk stream drops exactly its frame",
          "[integration][drop][stream]") {
  // Megabytes of lines stream through the zero-copy path while the toxic counts them; the
  // drop fires far in, in both directions, and every other byte arrives in order.
  EchoServer echo;
  Harness h;
  const auto port = h.Proxy("bulk", echo.address());
  constexpr int kLines = 400000;
  constexpr int kUpDrop = 150000;
  constexpr int kDownDrop = 300000;
  h.Toxic("bulk", R"({"type":"drop","stream":"upstream","attributes":{"framing":"line","frame":)" +
                      std::to_string(kUpDrop) + "}}");
  h.Toxic("bulk",
          R"({"type":"drop","stream":"downstream","attributes":{"framing":"line","frame":)" +
              std::to_string(kDownDrop) + "}}");
  const std::string text = Numbered(kLines);
  Client client(port, 30s);
  bool sent = false;  // checked here: Catch2 asserts only on the test's own thread
  std::thread writer([&] {
    sent = client.SendAll(text);
    client.ShutdownWrite();
  });
  const std::string back = client.ReceiveUntilEnd();
  writer.join();
  CHECK(sent);
  // Upstream drops line 150000; downstream counts what is left, so its 300000th line is
  // line 300001 of the original.
  std::string expected;
  for (int i = 1; i <= kLines; ++i) {
    if (i != kUpDrop && i != kDownDrop + 1) expected += "line " + std::to_string(i) + "\n";
  }
  CHECK(back.size() == expected.size());
  CHECK(back == expected);
}

TEST_CASE("a pathological match pattern does not stall another connection on its thread",
          "[integration][drop][match]") {
  // (a|a)*c on 20 KB lines: exponential for a backtracking engine, which held the data-path
  // thread (and every connection on it) for more than a second per line.
  EchoServer echo;
  Harness h(1);  // one data-path thread: both connections run on it
  const auto port = h.Proxy("shared", echo.address());
  h.Toxic(
      "shared",
      R"({"type":"drop","stream":"upstream","attributes":{"framing":"line","match":"(a|a)*c"}})");
  Client quiet(port);
  REQUIRE(quiet.SendAll("ping\n"));
  REQUIRE(quiet.Receive(5) == "ping\n");

  std::string lines;
  for (int i = 0; i < 5; ++i) lines += std::string(20000, 'a') + "\n";
  Client heavy(port, 30s);
  std::thread writer([&] { heavy.SendAll(lines); });
  std::string back;
  std::promise<void> first_line;
  std::thread reader([&] {
    back = heavy.Receive(20001);
    first_line.set_value();
    back += heavy.Receive(lines.size() - back.size());
  });
  // The first line is through: the proxy is searching the next ones now.
  const bool searching = first_line.get_future().wait_for(30s) == std::future_status::ready;
  CHECK(searching);
  std::chrono::steady_clock::duration slowest{};
  for (int i = 0; i < 5; ++i) {  // CHECK, not REQUIRE: the threads must be joined
    const auto start = std::chrono::steady_clock::now();
    CHECK(quiet.SendAll("ping\n"));
    CHECK(quiet.Receive(5) == "ping\n");
    slowest = std::max(slowest, std::chrono::steady_clock::now() - start);
  }
  writer.join();
  reader.join();
  CHECK(back == lines);  // no line has a 'c': none is dropped
  CHECK(std::chrono::duration<double, std::milli>(slowest).count() < 500);
}
