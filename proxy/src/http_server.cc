#include "faultline/proxy/http_server.h"

#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "proxy_instance.h"

namespace faultline::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kReadTimeout = std::chrono::seconds(30);
// After a failed accept() (out of descriptors, say), wait this long before the next one: the
// connection stays queued, so retrying at once would only spin.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

// A Warning header value (RFC 7234 5.5): code 299, agent faultline, the text quoted. Control
// characters in it (a field name can hold anything) become '?'.
std::string WarningHeader(std::string_view text) {
  std::string value = "299 faultline \"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') value += '\\';
    value += byte < 0x20 || byte == 0x7f ? '?' : c;
  }
  return value + '"';
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, Api& api) : stream_(std::move(socket)), api_(api) {}

  void Read() {
    parser_.emplace();
    parser_->body_limit(kMaxRequestBody);
    stream_.expires_after(kReadTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      Close();
      return;
    }
    if (ec == http::error::body_limit) {
      Respond(ErrorResponse(413, "request body is larger than 1 MiB"), /*keep_alive=*/false);
      return;
    }
    if (ec) {
      Respond(ErrorResponse(400, "malformed HTTP request: " + ec.message()), false);
      return;
    }
    const auto& request = parser_->get();
    HttpRequest api_request{std::string(request.method_string()),
                            std::string(request.target()),
                            request.body(),
                            std::string(request[http::field::user_agent]),
                            std::string(request[http::field::authorization]),
                            std::string(request["Prefer"])};
    Respond(api_.Handle(api_request), request.keep_alive());
  }

  void Respond(const HttpResponse& reply, bool keep_alive) {
    auto response = std::make_shared<http::response<http::string_body>>();
    response->result(static_cast<unsigned>(reply.status));
    response->version(11);
    response->set(http::field::server, "faultline");
    if (!reply.content_type.empty()) response->set(http::field::content_type, reply.content_type);
    if (!reply.www_authenticate.empty()) {
      response->set(http::field::www_authenticate, reply.www_authenticate);
    }
    for (const std::string& warning : reply.warnings) {
      response->insert(http::field::warning, WarningHeader(warning));
    }
    if (reply.strict) response->set("Preference-Applied", "handling=strict");
    response->keep_alive(keep_alive);
    response->body() = reply.body;
    response->prepare_payload();
    http::async_write(
        stream_, *response,
        [self = shared_from_this(), response, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive) {
            self->Close();
          } else {
            self->Read();
          }
        });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Api& api_;
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(Api& api) : api_(api), acceptor_(context_) {}

  core::Status Bind(std::string_view host, std::uint16_t port) {
    auto endpoints =
        ResolveEndpoints(SystemLookup, "API address",
                         (host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]"
                                                                   : std::string(host)) +
                             ":" + std::to_string(port));
    if (!endpoints) return endpoints.error();
    boost::system::error_code ec;
    const tcp::endpoint endpoint = endpoints->front();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return core::MakeError("API address " + FormatEndpoint(endpoint) + ": " + ec.message());
    bound_ = acceptor_.local_endpoint(ec);
    Accept();
    thread_ = std::thread([this] { context_.run(); });
    return core::Ok();
  }

  ~Impl() {
    asio::post(context_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      retry_timer_.cancel();
      context_.stop();
    });
    if (thread_.joinable()) thread_.join();
  }

  std::uint16_t port() const { return bound_.port(); }
  std::string address() const { return FormatEndpoint(bound_); }
  bool loopback() const {
    const asio::ip::address address = bound_.address();
    if (address.is_v4()) return address.to_v4().is_loopback();
    const asio::ip::address_v6 v6 = address.to_v6();
    return v6.is_loopback() ||
           (v6.is_v4_mapped() && asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback());
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {
        retry_timer_.expires_after(kAcceptRetry);
        retry_timer_.async_wait([this](boost::system::error_code wait_ec) {
          if (!wait_ec) Accept();
        });
        return;
      }
      std::make_shared<HttpSession>(std::move(socket), api_)->Read();
      Accept();
    });
  }

  Api& api_;
  asio::io_context context_{1};
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_{context_};
  tcp::endpoint bound_;
  std::thread thread_;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

core::Result<std::unique_ptr<HttpServer>> HttpServer::Start(Api& api, std::string_view host,
                                                            std::uint16_t port) {
  auto impl = std::make_unique<Impl>(api);
  if (auto ok = impl->Bind(host, port); !ok) return ok.error();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const { return impl_->port(); }
std::string HttpServer::address() const { return impl_->address(); }
bool HttpServer::loopback() const { return impl_->loopback(); }

}  // namespace faultline::proxy
