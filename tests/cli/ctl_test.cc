// `faultline ctl` against a real API server, parsed in-process.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "app.h"
#include "captured.h"
#include "faultline/core/kinds.h"
#include "faultline/proxy/api.h"
#include "faultline/proxy/http_server.h"
#include "faultline/proxy/server.h"
#include "support/run.h"

using namespace faultline;

namespace {

struct Server {
  explicit Server(std::string token = "") : api(proxies, "test", std::move(token)) {}
  proxy::ProxyServer proxies{proxy::ProxyServer::Options{1, 3, proxy::NumericLookup, nullptr}};
  proxy::Api api;
  std::unique_ptr<proxy::HttpServer> http = *proxy::HttpServer::Start(api, "127.0.0.1", 0);
  std::string url = "http://" + http->address();

  int Ctl(std::vector<std::string> args) {
    std::vector<std::string> all = {"faultline", "ctl", "--url", url};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<const char*> argv;
    for (const auto& a : all) argv.push_back(a.c_str());
    return cli::Main(static_cast<int>(argv.size()), argv.data());
  }
};

}  // namespace

TEST_CASE("ctl drives the whole proxy lifecycle", "[cli][ctl]") {
  Server s;
  CHECK(s.Ctl({"create", "db", "-l", "127.0.0.1:0", "-u", "127.0.0.1:5432"}) == 0);
  CHECK(s.Ctl({"toxic", "add", "db", "-t", "latency", "-a", "latency=100", "-a", "jitter=10",
               "--upstream", "-n", "slow"}) == 0);
  auto toxics = s.proxies.Get("db")->toxics;
  REQUIRE(toxics.size() == 1);
  CHECK(toxics[0].stream == proxy::Stream::kUpstream);
  CHECK(toxics[0].Int("jitter") == 10);
  CHECK(s.Ctl({"toxic", "update", "db", "-n", "slow", "-a", "latency=5", "--tox", "0.5"}) == 0);
  CHECK(s.proxies.Get("db")->toxics[0].Int("latency") == 5);
  CHECK(s.proxies.Get("db")->toxics[0].toxicity == 0.5);
  CHECK(s.Ctl({"list"}) == 0);
  CHECK(s.Ctl({"inspect", "db"}) == 0);
  CHECK(s.Ctl({"toggle", "db"}) == 0);
  CHECK_FALSE(s.proxies.Get("db")->spec.enabled);
  CHECK(s.Ctl({"toggle", "db"}) == 0);
  CHECK(s.proxies.Get("db")->spec.enabled);
  CHECK(s.Ctl({"toxic", "remove", "db", "-n", "slow"}) == 0);
  CHECK(s.proxies.Get("db")->toxics.empty());
  CHECK(s.Ctl({"delete", "db"}) == 0);
  CHECK_FALSE(s.proxies.Get("db"));
}

TEST_CASE("ctl takes durations with units and chances as percentages", "[cli][ctl]") {
  Server s;
  CHECK(s.Ctl({"create", "db", "-l", "127.0.0.1:0", "-u", "127.0.0.1:5432"}) == 0);
  CHECK(s.Ctl({"toxic", "add", "db", "-t", "latency", "-a", "latency=2s", "-a", "jitter=15", "-n",
               "slow"}) == 0);
  CHECK(s.proxies.Get("db")->toxics[0].Int("latency") == 2000);  // ms, the attribute's unit
  CHECK(s.proxies.Get("db")->toxics[0].Int("jitter") == 15);     // bare: in its unit
  CHECK(s.Ctl({"toxic", "add", "db", "-t", "slicer", "-a", "average_size=10", "-a", "delay=1500us",
               "-n", "sliced"}) == 0);
  CHECK(s.proxies.Get("db")->toxics[1].Int("delay") == 1500);  // the slicer's is in µs
  CHECK(s.Ctl({"toxic", "add", "db", "-t", "drop", "-a", "framing=line", "-a", "probability=25%",
               "-n", "lossy"}) == 0);
  CHECK(s.proxies.Get("db")->toxics[2].Fraction("probability") == 0.25);
  // update learns the toxic's type from the server, so its units are the same.
  CHECK(s.Ctl({"toxic", "update", "db", "-n", "slow", "-a", "latency=1m"}) == 0);
  CHECK(s.proxies.Get("db")->toxics[0].Int("latency") == 60000);
  CHECK(s.Ctl({"toxic", "update", "db", "-n", "slow", "-a", "latency=1500us"}) == 2);
  CHECK(s.Ctl({"toxic", "update", "db", "-n", "slow", "-a", "latency=soon"}) == 2);
  CHECK(s.Ctl({"toxic", "update", "db", "-n", "nosuch", "-a", "latency=1s"}) == 2);
  CHECK(s.proxies.Get("db")->toxics[0].Int("latency") == 60000);
}

TEST_CASE("ctl exits 2 on bad input and 3 when the server is unreachable", "[cli][ctl]") {
  Server s;
  CHECK(s.Ctl({"inspect", "missing"}) == 2);                                 // 404
  CHECK(s.Ctl({"create", "x", "-l", "127.0.0.1:0", "-u", "nowhere"}) == 2);  // 400
  CHECK(s.Ctl({"create", "x", "-l", "127.0.0.1:0", "-u", "127.0.0.1:1"}) == 0);
  CHECK(s.Ctl({"toxic", "add", "x", "-t", "latency", "-a", "latency"}) == 2);       // not k=v
  CHECK(s.Ctl({"toxic", "add", "x", "-t", "latency", "-a", "latency=fast"}) == 2);  // not a number
  CHECK(s.Ctl({"release", "x", "nohold"}) == 2);                                    // 404
  CHECK(s.Ctl({"toxic", "add", "x", "-t", "nope", "-a", "a=1"}) == 2);  // server says no
  // ctl asks for strict handling: what the API lets pass for a Toxiproxy client is refused.
  CHECK(s.Ctl({"toxic", "add", "x", "-t", "latency", "-a", "latency=1", "-a", "jiter=2"}) == 2);
  CHECK(s.Ctl({"toxic", "add", "x", "-t", "latency", "-a", "latency=-5"}) == 2);
  CHECK(s.proxies.Get("x")->toxics.empty());
  CHECK(s.Ctl({"frobnicate"}) == 2);  // usage
  std::vector<const char*> unreachable = {"faultline", "ctl", "--url", "http://127.0.0.1:1",
                                          "list"};
  CHECK(cli::Main(5, unreachable.data()) == 3);
}

TEST_CASE("ctl adds frame toxics with text attributes and a target, and drives holds",
          "[cli][ctl][hold]") {
  Server s;
  CHECK(s.Ctl({"create", "db", "-l", "127.0.0.1:0", "-u", "127.0.0.1:5432", "--seed", "42"}) == 0);
  CHECK(s.proxies.Get("db")->spec.seed == 42u);
  CHECK(s.Ctl({"create", "dns", "-l", "127.0.0.1:0", "-u", "127.0.0.1:53", "--protocol", "udp"}) ==
        0);
  CHECK(s.proxies.Get("dns")->spec.protocol == "udp");
  CHECK(s.Ctl({"create", "x", "-l", "127.0.0.1:0", "-u", "127.0.0.1:1", "--protocol", "sctp"}) ==
        2);
  CHECK(s.Ctl({"toxic", "add", "db", "-t", "hold", "-n", "gate", "-u", "-a", "framing=line", "-a",
               "match=^COMMIT", "-a", "release_on=other/point", "--connection", "2"}) == 0);
  auto toxic = s.proxies.Get("db")->toxics.at(0);
  CHECK(toxic.Text("framing") == "line");
  CHECK(toxic.Text("match") == "^COMMIT");
  CHECK(toxic.target.connection == 2);
  CHECK(s.Ctl({"holds"}) == 0);
  CHECK(s.Ctl({"release", "db", "gate"}) == 2);  // 409: nothing is held
  CHECK(s.Ctl({"events", "--since", "0"}) == 0);
  CHECK(s.Ctl({"toxic", "add", "db", "-t", "hold", "-a", "framing=lines"}) == 2);
}

TEST_CASE("ctl sends the token from --token-file, else from $FAULTLINE_TOKEN",
          "[cli][ctl][token]") {
  Server s("s3cret");
  testing::TempDir dir;
  const std::string right = dir.path + "/right";
  const std::string wrong = dir.path + "/wrong";
  std::ofstream(right) << "s3cret\n";
  std::ofstream(wrong) << "guess\n";
  ::unsetenv("FAULTLINE_TOKEN");

  CHECK(s.Ctl({"list"}) == 2);  // 401
  CHECK(s.Ctl({"create", "db", "-l", "127.0.0.1:0", "-u", "127.0.0.1:5432"}) == 2);
  CHECK_FALSE(s.proxies.Get("db"));
  CHECK(s.Ctl({"--token-file", wrong, "list"}) == 2);
  CHECK(s.Ctl({"--token-file", dir.path + "/missing", "list"}) == 2);
  CHECK(s.Ctl({"--token-file", right, "create", "db", "-l", "127.0.0.1:0", "-u",
               "127.0.0.1:5432"}) == 0);
  CHECK(s.proxies.Get("db"));
  CHECK(s.Ctl({"--token-file", right, "list"}) == 0);

  ::setenv("FAULTLINE_TOKEN", "s3cret", 1);
  CHECK(s.Ctl({"list"}) == 0);
  CHECK(s.Ctl({"toggle", "db"}) == 0);  // reads the proxy first, then patches it
  CHECK_FALSE(s.proxies.Get("db")->spec.enabled);
  CHECK(s.Ctl({"toggle", "db"}) == 0);
  CHECK(s.proxies.Get("db")->spec.enabled);
  CHECK(s.Ctl({"--token-file", wrong, "list"}) == 2);  // the file wins over the variable
  ::setenv("FAULTLINE_TOKEN", "guess", 1);
  CHECK(s.Ctl({"list"}) == 2);
  CHECK(s.Ctl({"--token-file", right, "delete", "db"}) == 0);
  ::unsetenv("FAULTLINE_TOKEN");
}

TEST_CASE("ctl takes toxiproxy-cli's -h/--host for the server, and help stays on --help",
          "[cli][ctl]") {
  Server s;
  auto ctl = [](std::vector<std::string> all) {
    all.insert(all.begin(), {"faultline", "ctl"});
    std::vector<const char*> argv;
    for (const auto& a : all) argv.push_back(a.c_str());
    return cli::Main(static_cast<int>(argv.size()), argv.data());
  };
  CHECK(ctl({"-h", s.url, "create", "db", "-l", "127.0.0.1:0", "-u", "127.0.0.1:5432"}) == 0);
  CHECK(s.proxies.Get("db"));
  CHECK(ctl({"--host", s.url, "toggle", "db"}) == 0);
  CHECK_FALSE(s.proxies.Get("db")->spec.enabled);
  CHECK(ctl({"--help"}) == 0);
}

TEST_CASE("ctl toxic add --help lists every toxic type with its attributes", "[cli][ctl]") {
  const auto help = testing::Faultline({"ctl", "toxic", "add", "--help"});
  CHECK(help.exit_code == 0);
  for (const core::KindInfo& kind : core::Kinds()) {
    INFO(kind.name);
    const bool listed = help.out.find("  " + std::string(kind.name) + ": ") != std::string::npos;
    CHECK(listed == (kind.family == core::Family::kProxy));
  }
  CHECK(help.out.find("latency* (ms), jitter (ms)") != std::string::npos);
}

TEST_CASE("ctl fault adds the toxic a fault line describes", "[cli][ctl]") {
  Server s;
  REQUIRE(s.Ctl({"create", "db", "-l", "127.0.0.1:0", "-u", "127.0.0.1:5432"}) == 0);
  CHECK(s.Ctl({"fault", "proxy db upstream conn=2 -> 20%drop(framing=line, match=^SET)"}) == 0);
  CHECK(s.Ctl({"fault", "-n", "slow", "proxy db -> latency(latency=1.5s)"}) == 0);
  const auto toxics = s.proxies.Get("db")->toxics;
  REQUIRE(toxics.size() == 2);
  CHECK(toxics[0].name == "drop_upstream");
  CHECK(toxics[0].stream == proxy::Stream::kUpstream);
  CHECK(toxics[0].toxicity == 0.2);
  CHECK(toxics[0].target.connection == 2);
  CHECK(toxics[0].Text("match") == "^SET");
  CHECK(toxics[1].name == "slow");
  CHECK(toxics[1].Int("latency") == 1500);
  // What is not a proxy's toxic, or not one the API keeps, is refused before anything is sent.
  CHECK(s.Ctl({"fault", "service s -> pause"}) == 2);
  CHECK(s.Ctl({"fault", "proxy db -> latency(latency=800)"}) == 2);
  CHECK(s.Ctl({"fault", "proxy db -> latency(latency=1s) lease=5s"}) == 2);
  CHECK(s.Ctl({"fault", "proxy nope -> noop"}) == 2);  // the server's 404
  CHECK(s.proxies.Get("db")->toxics.size() == 2);
}
