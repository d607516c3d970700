#include "http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "version.h"

namespace faultline::cli {

core::Result<HttpReply> HttpCall(std::string_view base_url, std::string_view method,
                                 std::string_view path, std::string_view body,
                                 std::string_view token) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  using tcp = boost::asio::ip::tcp;

  std::string_view rest = base_url;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  if (rest.starts_with("https://")) return core::MakeError("https URLs are not supported");
  if (const auto slash = rest.find('/'); slash != std::string_view::npos)
    rest = rest.substr(0, slash);
  const auto colon = rest.rfind(':');
  const std::string host(colon == std::string_view::npos ? rest : rest.substr(0, colon));
  const std::string port(colon == std::string_view::npos ? "80" : rest.substr(colon + 1));
  const std::string bare_host =
      host.size() > 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;

  boost::asio::io_context context;
  tcp::resolver resolver(context);
  beast::tcp_stream stream(context);
  beast::error_code ec;
  auto endpoints = resolver.resolve(bare_host, port, ec);
  if (ec) return core::MakeError("cannot resolve " + std::string(base_url) + ": " + ec.message());
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(endpoints, ec);
  if (ec)
    return core::MakeError("cannot connect to " + std::string(base_url) + ": " + ec.message());

  http::request<http::string_body> request;
  request.method_string(method);
  request.target(path);
  request.version(11);
  request.set(http::field::host, host);
  request.set(http::field::user_agent, std::string("faultline-ctl/") + kVersion);
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.set("Prefer", "handling=strict");
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + std::string(token));
  request.body() = std::string(body);
  request.prepare_payload();
  http::write(stream, request, ec);
  if (ec)
    return core::MakeError("request to " + std::string(base_url) + " failed: " + ec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(stream, buffer, parser, ec);
  if (ec)
    return core::MakeError("reply from " + std::string(base_url) + " failed: " + ec.message());
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return HttpReply{static_cast<int>(parser.get().result_int()), parser.get().body(),
                   std::string(parser.get()[http::field::www_authenticate])};
}

}  // namespace faultline::cli
