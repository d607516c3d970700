// `faultline proxy` as a real process: a closed API (--token-file), the warning for an open
// one beyond loopback, and an API accept loop that backs off when out of descriptors.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "app.h"
#include "http_client.h"
#include "support/processes.h"
#include "support/run.h"

using namespace faultline;
using namespace std::chrono_literals;
using faultline::testing::Background;
using faultline::testing::RunProgram;
using faultline::testing::TempDir;
namespace bj = boost::json;

namespace {

const std::string kFaultline = FAULTLINE_BIN;

// Starts `faultline proxy ARGS` (stderr to `err_file` when given) and waits for its start line.
struct ProxyProcess {
  explicit ProxyProcess(const std::vector<std::string>& args, const std::string& err_file = "",
                        const std::vector<std::string>& prefix = {})
      : process(Command(args, err_file, prefix),
                err_file.empty() ? std::vector<std::string>{}
                                 : std::vector<std::string>{"ERR_FILE=" + err_file}) {
    started = process.WaitForOutput("API on http://", 20s) && process.WaitForOutput(", seed", 5s);
    const std::string out = process.Output();
    const auto at = out.find("API on http://");
    if (started) {
      const std::string address = out.substr(at + 14, out.find(',', at) - at - 14);
      port = address.substr(address.rfind(':') + 1);
      url = "http://127.0.0.1:" + port;
    }
  }
  static std::vector<std::string> Command(const std::vector<std::string>& args,
                                          const std::string& err_file,
                                          const std::vector<std::string>& prefix) {
    std::vector<std::string> argv = prefix;
    if (!err_file.empty()) {
      // The test's own log takes stdout; stderr goes to its own file.
      argv.insert(argv.end(), {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>\"$ERR_FILE\""});
    }
    argv.push_back(kFaultline);
    argv.push_back("proxy");
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  Background process;
  bool started = false;
  std::string port;
  std::string url;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int Ctl(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"faultline", "ctl"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return cli::Main(static_cast<int>(argv.size()), argv.data());
}

// User plus system CPU time the process has used, from /proc/PID/stat.
double CpuSeconds(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t OpenDescriptors(pid_t pid) {
  std::error_code ec;
  std::size_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++count;
  }
  return count;
}

// A connected TCP socket to 127.0.0.1:port, or -1.
int Connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    return fd;
  }
  if (fd >= 0) ::close(fd);
  return -1;
}

}  // namespace

TEST_CASE("proxy --token-file closes the API to requests without the token",
          "[cli][proxy][token]") {
  TempDir dir;
  const std::string token_file = dir.path + "/token";
  std::ofstream(token_file) << "s3cret-token\n";
  ProxyProcess proxy({"--port", "0", "--token-file", token_file});
  REQUIRE(proxy.started);
  INFO(proxy.process.Output());

  auto missing = cli::HttpCall(proxy.url, "GET", "/proxies");
  REQUIRE(missing);
  CHECK(missing->status == 401);
  CHECK(missing->www_authenticate == "Bearer");
  const auto body = bj::parse(missing->body).as_object();
  CHECK(body.at("status").as_int64() == 401);
  CHECK(body.at("error").is_string());

  auto wrong = cli::HttpCall(proxy.url, "GET", "/proxies", "", "s3cret");
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  CHECK(wrong->www_authenticate == "Bearer");

  auto right = cli::HttpCall(proxy.url, "GET", "/proxies", "", "s3cret-token");
  REQUIRE(right);
  CHECK(right->status == 200);
  CHECK(right->body == "{}");

  auto version = cli::HttpCall(proxy.url, "GET", "/version");
  REQUIRE(version);
  CHECK(version->status == 200);
  auto metrics = cli::HttpCall(proxy.url, "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 401);

  // faultline ctl against the process.
  CHECK(Ctl({"--url", proxy.url, "list"}) == 2);
  CHECK(Ctl({"--url", proxy.url, "--token-file", token_file, "create", "db", "-l", "127.0.0.1:0",
             "-u", "127.0.0.1:5432"}) == 0);
  auto listed = cli::HttpCall(proxy.url, "GET", "/proxies/db", "", "s3cret-token");
  REQUIRE(listed);
  CHECK(listed->status == 200);
  CHECK(proxy.process.Output().find("WARNING") == std::string::npos);
}

TEST_CASE("proxy refuses an empty or unreadable token file with exit code 2",
          "[cli][proxy][token]") {
  TempDir dir;
  const std::string empty = dir.path + "/empty";
  std::ofstream(empty) << "\n";
  const auto ran_empty = RunProgram({kFaultline, "proxy", "--port", "0", "--token-file", empty});
  CHECK(ran_empty.exit_code == 2);
  CHECK(ran_empty.err.find("--token-file") != std::string::npos);
  CHECK(ran_empty.err.find("empty") != std::string::npos);
  const auto ran_missing =
      RunProgram({kFaultline, "proxy", "--port", "0", "--token-file", dir.path + "/missing"});
  CHECK(ran_missing.exit_code == 2);
  CHECK(ran_missing.err.find("cannot open") != std::string::npos);
  const auto ran_dir = RunProgram({kFaultline, "proxy", "--port", "0", "--token-file", dir.path});
  CHECK(ran_dir.exit_code == 2);
  CHECK(ran_dir.err.find("cannot read") != std::string::npos);
}

TEST_CASE("proxy warns on stderr when its API listens beyond loopback without a token",
          "[cli][proxy][token]") {
  TempDir dir;
  const std::string token_file = dir.path + "/token";
  std::ofstream(token_file) << "s3cret-token\n";
  {
    const std::string err = dir.path + "/open.err";
    ProxyProcess open({"--host", "0.0.0.0", "--port", "0"}, err);
    REQUIRE(open.started);
    const std::string text = ReadFile(err);
    INFO(text);
    CHECK(text.find("WARNING") != std::string::npos);
    CHECK(text.find("--token-file") != std::string::npos);
    CHECK(open.process.Output().find("WARNING") == std::string::npos);  // not on stdout
    auto reply = cli::HttpCall(open.url, "GET", "/proxies");
    REQUIRE(reply);
    CHECK(reply->status == 200);  // open, as warned
  }
  {
    const std::string err = dir.path + "/closed.err";
    ProxyProcess closed({"--host", "0.0.0.0", "--port", "0", "--token-file", token_file}, err);
    REQUIRE(closed.started);
    CHECK(ReadFile(err).find("WARNING") == std::string::npos);
  }
  {
    const std::string err = dir.path + "/loopback.err";
    ProxyProcess loopback({"--host", "127.0.0.1", "--port", "0"}, err);
    REQUIRE(loopback.started);
    CHECK(ReadFile(err).find("WARNING") == std::string::npos);
  }
}

TEST_CASE("the API backs off instead of spinning when out of descriptors, then recovers",
          "[cli][proxy][emfile]") {
  // Soft and hard limit both, so the proxy cannot raise it back.
  constexpr int kLimit = 64;
  ProxyProcess proxy({"--port", "0", "--threads", "1"}, "",
                     {"prlimit", "--nofile=" + std::to_string(kLimit)});
  REQUIRE(proxy.started);
  const pid_t pid = proxy.process.pid();
  const auto port = static_cast<std::uint16_t>(std::stoi(proxy.port));
  REQUIRE(OpenDescriptors(pid) < static_cast<std::size_t>(kLimit) - 8);

  // More connections than it has descriptors: the rest wait in the listen queue, and every
  // accept() of them fails with EMFILE.
  std::vector<int> clients;
  for (int i = 0; i < 2 * kLimit; ++i) {
    const int fd = Connect(port);
    if (fd >= 0) clients.push_back(fd);
  }
  CHECK(clients.size() == 2 * kLimit);
  REQUIRE(testing::WaitUntil(
      [&] { return OpenDescriptors(pid) >= static_cast<std::size_t>(kLimit) - 1; }, 10s));

  const double before = CpuSeconds(pid);
  std::this_thread::sleep_for(2s);
  const double used = CpuSeconds(pid) - before;
  INFO("CPU seconds used in 2 s at the descriptor limit: " << used);
  CHECK(used >= 0);
  CHECK(used < 0.25);

  for (int fd : clients) ::close(fd);
  const bool recovered = testing::WaitUntil(
      [&] {
        auto reply = cli::HttpCall(proxy.url, "GET", "/version");
        return reply && reply->status == 200;
      },
      10s);
  INFO("the proxy said: " << proxy.process.Output());
  CHECK(recovered);
}
