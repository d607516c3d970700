#include "faultline/experiments/readiness.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
// Boost.URL's compiled part, in this one file of the program.
#include <boost/url/src.hpp>

#include <algorithm>
#include <cctype>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>
#include <vector>

#include "faultline/proxy/lookup.h"
#include "faultline/proxy/pattern.h"

namespace faultline::experiments {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The Error::code of an attempt that will fail however often it is tried.
constexpr int kHopeless = 1;
constexpr int kTailLines = 5;
constexpr std::streamoff kTailBytes = 64 * 1024;

// Boost's messages start with a capital; ours go mid-sentence.
std::string Lowercase(std::string message) {
  if (!message.empty()) {
    message[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(message[0])));
  }
  return message;
}

std::string Rounded(core::Duration d) {
  return core::FormatDuration(std::chrono::ceil<milliseconds>(d));
}

// One way of asking whether a service is ready.
class Probe {
 public:
  virtual ~Probe() = default;
  // Ok when ready; otherwise why not, taking at most about `budget`.
  virtual core::Status Try(core::Duration budget) = 0;
};

using ProbeOrError = core::Result<std::unique_ptr<Probe>>;

template <typename Kind, typename... Args>
ProbeOrError NewProbe(Args&&... args) {
  return std::unique_ptr<Probe>(std::make_unique<Kind>(std::forward<Args>(args)...));
}

struct Endpoint {
  std::string host;
  std::string port;
};

core::Result<Endpoint> ParseHostPort(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size() ||
      !std::all_of(text.begin() + colon + 1, text.end(),
                   [](unsigned char c) { return std::isdigit(c); })) {
    return core::MakeError("expected HOST:PORT, got '" + text + "'", kHopeless);
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return Endpoint{host, text.substr(colon + 1)};
}

// Connects `stream` within `budget`, name lookup included. Beast's timeouts only apply to its
// asynchronous operations, so they run here on `context` until they finish: a blocking call.
core::Status Connect(boost::asio::io_context& context, beast::tcp_stream& stream,
                     const Endpoint& endpoint, core::Duration budget) {
  const auto deadline = Clock::now() + budget;
  const auto addresses = proxy::LookupWithin(endpoint.host, endpoint.port, budget);
  if (!addresses) return addresses.error();
  std::vector<tcp::endpoint> endpoints;
  for (const proxy::Address& address : *addresses) {
    endpoints.emplace_back(boost::asio::ip::make_address(address.ip), address.port);
  }
  beast::error_code ec;
  stream.expires_at(deadline);
  stream.async_connect(endpoints,
                       [&ec](beast::error_code error, const tcp::endpoint&) { ec = error; });
  context.run();
  context.restart();
  if (ec == beast::error::timeout) return core::MakeError("no connection after " + Rounded(budget));
  if (ec) return core::MakeError(Lowercase(ec.message()));
  return core::Ok();
}

class TcpProbe : public Probe {
 public:
  explicit TcpProbe(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}
  core::Status Try(core::Duration budget) override {
    boost::asio::io_context context;
    beast::tcp_stream stream(context);
    return Connect(context, stream, endpoint_, budget);
  }

 private:
  Endpoint endpoint_;
};

class HttpProbe : public Probe {
 public:
  explicit HttpProbe(std::string url) : url_(std::move(url)) {}

  core::Status Try(core::Duration budget) override {
    const auto status = HttpRequest("GET", url_, "", budget);
    if (!status) return status.error();
    if (*status < 200 || *status > 299) return core::MakeError("status " + std::to_string(*status));
    return core::Ok();
  }

 private:
  std::string url_;
};

// An http:// URL's endpoint and request target, or why it is not one.
core::Result<std::pair<Endpoint, std::string>> ParseHttpUrl(const std::string& url) {
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return core::MakeError("not a URL: " + url, kHopeless);
  if (parsed->scheme_id() != boost::urls::scheme::http) {
    return core::MakeError("only http:// URLs can be checked: " + url, kHopeless);
  }
  Endpoint endpoint{parsed->host_address(), parsed->has_port() ? parsed->port() : "80"};
  std::string target(parsed->encoded_target());
  if (target.empty()) target = "/";
  return std::pair(std::move(endpoint), std::move(target));
}

ProbeOrError MakeHttpProbe(const std::string& url) {
  if (auto parsed = ParseHttpUrl(url); !parsed) return parsed.error();
  return NewProbe<HttpProbe>(url);
}

// A log line as a pattern sees it: without its "\r" before the "\n", as a line frame.
std::string_view WithoutReturn(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

// Reads the log as it grows, from where this run of the process started writing, and
// searches each line (without its newline) for the pattern, compiled once for the probe.
class LogProbe : public Probe {
 public:
  LogProbe(std::string path, proxy::Pattern pattern, std::uint64_t start)
      : path_(std::move(path)), pattern_(std::move(pattern)), offset_(start) {}

  core::Status Try(core::Duration) override {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return core::MakeError("cannot read " + path_);
    in.seekg(static_cast<std::streamoff>(offset_));
    std::ostringstream fresh;
    fresh << in.rdbuf();
    offset_ += fresh.str().size();
    unfinished_ += fresh.str();
    const std::string_view text = unfinished_;
    std::size_t begin = 0;
    for (auto end = text.find('\n'); end != std::string::npos;
         begin = end + 1, end = text.find('\n', begin)) {
      if (pattern_.Finds(WithoutReturn(text.substr(begin, end - begin)))) return core::Ok();
    }
    unfinished_.erase(0, begin);
    // A line still being written counts too: a service may print "ready" and wait.
    if (pattern_.Finds(WithoutReturn(unfinished_))) return core::Ok();
    return core::MakeError("no line of " + path_ + " matches");
  }

 private:
  std::string path_;
  proxy::Pattern pattern_;
  std::uint64_t offset_;
  std::string unfinished_;  // read, but not yet ended by a newline
};

class CommandProbe : public Probe {
 public:
  CommandProbe(ProcessSpec spec, Reaper* reaper) : spec_(std::move(spec)), reaper_(reaper) {}

  core::Status Try(core::Duration budget) override {
    auto command = Process::Start(spec_, reaper_);
    if (!command) return core::MakeError(command.message(), kHopeless);
    const std::optional<int> code = command->Wait(budget);
    if (!code) {
      command->Stop(core::Duration::zero());
      return core::MakeError("still running after " + Rounded(budget));
    }
    if (*code != 0) return core::MakeError("exit code " + std::to_string(*code));
    return core::Ok();
  }

 private:
  ProcessSpec spec_;
  Reaper* reaper_;
};

ProbeOrError MakeLogProbe(const std::string& pattern, const Process& process) {
  if (process.log_path().empty()) return core::MakeError("the process has no log", kHopeless);
  auto compiled = proxy::Pattern::Compile(pattern);
  if (!compiled) {
    return core::MakeError("not a valid RE2 pattern: " + compiled.message(), kHopeless);
  }
  return NewProbe<LogProbe>(process.log_path(), std::move(*compiled), process.log_start());
}

ProbeOrError MakeProbe(const ReadyCheck& check, const Process& process) {
  switch (check.kind) {
    case ReadyCheck::Kind::kTcp: {
      auto endpoint = ParseHostPort(check.target);
      if (!endpoint) return endpoint.error();
      return NewProbe<TcpProbe>(std::move(*endpoint));
    }
    case ReadyCheck::Kind::kHttp:
      return MakeHttpProbe(check.target);
    case ReadyCheck::Kind::kLog:
      return MakeLogProbe(check.target, process);
    case ReadyCheck::Kind::kCommand: {
      if (check.command.empty()) return core::MakeError("no command", kHopeless);
      ProcessSpec spec;
      spec.name = "ready check";
      spec.argv = check.command;
      return NewProbe<CommandProbe>(std::move(spec), process.reaper());
    }
  }
  return core::MakeError("unknown kind of check", kHopeless);
}

// "; last lines of PATH:\n  ..." for the end of what this run of the process has logged.
std::string LogTail(const Process& process) {
  if (process.log_path().empty()) return {};
  std::ifstream in(process.log_path(), std::ios::binary | std::ios::ate);
  if (!in) return "; cannot read " + process.log_path();
  const std::streamoff size = in.tellg();
  in.seekg(std::max<std::streamoff>(static_cast<std::streamoff>(process.log_start()),
                                    size - kTailBytes));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  if (lines.empty()) return "; nothing in " + process.log_path();
  std::string tail = "; last lines of " + process.log_path() + ":";
  for (auto line = lines.size() > kTailLines ? lines.end() - kTailLines : lines.begin();
       line != lines.end(); ++line) {
    tail += "\n  " + *line;
  }
  return tail;
}

std::string Service(const Process& process) { return "service " + process.name(); }

}  // namespace

std::string Describe(const ReadyCheck& check) {
  switch (check.kind) {
    case ReadyCheck::Kind::kTcp:
      return "tcp " + check.target;
    case ReadyCheck::Kind::kHttp:
      return "http " + check.target;
    case ReadyCheck::Kind::kLog:
      return "log /" + check.target + "/";
    case ReadyCheck::Kind::kCommand: {
      std::string text = "command";
      for (const std::string& word : check.command) text += " " + word;
      return text;
    }
  }
  return "unknown check";
}

core::Status WaitReady(const ReadyCheck& check, Process& process,
                       const std::function<void()>& between) try {
  auto probe = MakeProbe(check, process);
  if (!probe) {
    return core::MakeError(Service(process) + ": " + Describe(check) +
                           " can never pass: " + probe.message());
  }
  const auto deadline = Clock::now() + check.timeout;
  const core::Duration interval = std::max<core::Duration>(check.interval, milliseconds(1));
  for (;;) {
    if (const auto code = process.ExitCode()) {
      return core::MakeError(Service(process) + " exited with code " + std::to_string(*code) +
                             " before it was ready" + LogTail(process));
    }
    const core::Duration left = deadline - Clock::now();
    const core::Status attempt =
        (*probe)->Try(std::min<core::Duration>(check.attempt_timeout, std::max(left, interval)));
    if (attempt) return core::Ok();
    if (attempt.code() == kHopeless) {
      return core::MakeError(Service(process) + ": " + Describe(check) +
                             " can never pass: " + attempt.message());
    }
    if (Clock::now() >= deadline) {
      return core::MakeError(Service(process) + ": not ready after " +
                             core::FormatDuration(check.timeout) + " (" + Describe(check) + ": " +
                             attempt.message() + ")" + LogTail(process));
    }
    // Waiting on the process rather than sleeping: an exit ends the wait at once.
    process.Wait(std::min<core::Duration>(interval, deadline - Clock::now()));
    if (between) between();
  }
} catch (const std::exception& e) {
  return core::MakeError(Service(process) + ": " + Describe(check) + ": " + e.what());
}

core::Status CheckOnce(const ReadyCheck& check) try {
  ProbeOrError probe = core::MakeError("a " + Describe(check) + " check needs its service");
  if (check.kind == ReadyCheck::Kind::kTcp) {
    auto endpoint = ParseHostPort(check.target);
    if (!endpoint) return endpoint.error();
    probe = NewProbe<TcpProbe>(std::move(*endpoint));
  } else if (check.kind == ReadyCheck::Kind::kHttp) {
    probe = MakeHttpProbe(check.target);
  }
  if (!probe) return probe.error();
  return (*probe)->Try(check.attempt_timeout);
} catch (const std::exception& e) {
  return core::MakeError(Describe(check) + ": " + e.what());
}

core::Result<unsigned> HttpRequest(std::string_view method, const std::string& url,
                                   const std::string& body, core::Duration timeout) try {
  auto parsed = ParseHttpUrl(url);
  if (!parsed) return parsed.error();
  const auto& [endpoint, target] = *parsed;
  const auto deadline = Clock::now() + timeout;
  boost::asio::io_context context;
  beast::tcp_stream stream(context);
  if (auto connected = Connect(context, stream, endpoint, timeout); !connected) {
    return connected.error();
  }
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, endpoint.host + ":" + endpoint.port);
  request.set(http::field::connection, "close");
  if (!body.empty()) {
    // The Prometheus text exposition format, the one body this client sends.
    request.set(http::field::content_type, "text/plain; version=0.0.4");
    request.body() = body;
  }
  request.prepare_payload();
  // Only the status matters: the header is all that is read.
  http::response_parser<http::empty_body> parser;
  beast::flat_buffer buffer;
  beast::error_code ec;
  stream.expires_at(deadline);
  http::async_write(stream, request, [&](beast::error_code error, std::size_t) {
    ec = error;
    if (!ec) {
      http::async_read_header(stream, buffer, parser,
                              [&](beast::error_code error, std::size_t) { ec = error; });
    }
  });
  context.run();
  if (ec == beast::error::timeout) return core::MakeError("no answer after " + Rounded(timeout));
  if (ec) return core::MakeError(Lowercase(ec.message()));
  return parser.get().result_int();
} catch (const std::exception& e) {
  return core::MakeError(url + ": " + e.what());
}

}  // namespace faultline::experiments
