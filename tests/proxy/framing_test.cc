// The frame splitter on its own: boundaries for every framing, across any split of the input.

#include "faultline/proxy/framing.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace faultline::proxy;

namespace {

// Feeds `stream` in pieces of `piece` bytes; returns the frames as strings.
std::vector<std::string> Split(const Framing& framing, const std::string& stream, std::size_t piece,
                               std::string* error = nullptr) {
  FrameSplitter splitter(framing);
  std::vector<std::string> frames;
  std::string current;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    const std::string part = stream.substr(at, piece);
    std::vector<std::size_t> ends;
    auto ok = splitter.Scan(part, ends);
    std::size_t start = 0;
    for (std::size_t end : ends) {
      current += part.substr(start, end - start);
      frames.push_back(current);
      current.clear();
      start = end;
    }
    current += part.substr(start);
    if (!ok) {
      if (error) *error = ok.message();
      return frames;
    }
  }
  return frames;
}

Framing Make(Framing::Kind kind) {
  Framing framing;
  framing.kind = kind;
  return framing;
}

std::string Prefixed(const std::string& body, unsigned header, bool includes) {
  const std::size_t length = body.size() + (includes ? header : 0);
  std::string out;
  for (unsigned i = header; i > 0; --i)
    out.push_back(static_cast<char>((length >> (8 * (i - 1))) & 0xff));
  return out + body;
}

}  // namespace

TEST_CASE("line framing ends each frame at a newline, whatever the reads", "[proxy][framing]") {
  const std::string stream = "alpha\nbe\n\ngamma-delta\ntail";
  for (std::size_t piece : {1, 2, 3, 7, 100}) {
    CAPTURE(piece);
    CHECK(Split(Make(Framing::Kind::kLine), stream, piece) ==
          std::vector<std::string>{"alpha\n", "be\n", "\n", "gamma-delta\n"});
  }
}

TEST_CASE("fixed framing cuts every frame_size bytes", "[proxy][framing]") {
  Framing framing = Make(Framing::Kind::kFixed);
  framing.frame_size = 4;
  for (std::size_t piece : {1, 3, 4, 5, 64}) {
    CAPTURE(piece);
    CHECK(Split(framing, "aaaabbbbccccdd", piece) ==
          std::vector<std::string>{"aaaa", "bbbb", "cccc"});
  }
}

TEST_CASE("length-prefixed framing reads u16 and u32 big-endian headers", "[proxy][framing]") {
  for (unsigned header : {2u, 4u}) {
    for (bool includes : {false, true}) {
      Framing framing = Make(Framing::Kind::kLengthPrefixed);
      framing.length_bytes = header;
      framing.length_includes_header = includes;
      const std::vector<std::string> bodies = {"x", "", std::string(300, 'y'), "hello"};
      std::string stream;
      std::vector<std::string> expected;
      for (const auto& body : bodies) {
        expected.push_back(Prefixed(body, header, includes));
        stream += expected.back();
      }
      for (std::size_t piece : {1, 2, 5, 301, 4096}) {
        CAPTURE(header, includes, piece);
        CHECK(Split(framing, stream, piece) == expected);
      }
    }
  }
}

TEST_CASE("raw framing makes each read a frame; prefix framing cuts once", "[proxy][framing]") {
  CHECK(Split(Make(Framing::Kind::kRaw), "abcdefg", 3) ==
        std::vector<std::string>{"abc", "def", "g"});
  Framing prefix = Make(Framing::Kind::kPrefix);
  prefix.frame_size = 5;
  CHECK(Split(prefix, "abcdefgh", 3) == std::vector<std::string>{"abcde", "f", "gh"});
}

TEST_CASE("malformed framing is an error that names it", "[proxy][framing]") {
  std::string error;
  Framing line = Make(Framing::Kind::kLine);
  line.max_frame = 8;
  CHECK(Split(line, "short\nthis line is far too long\n", 4, &error) ==
        std::vector<std::string>{"short\n"});
  CHECK(error.find("longer than max_frame (8 bytes)") != std::string::npos);

  Framing prefixed = Make(Framing::Kind::kLengthPrefixed);
  prefixed.length_bytes = 4;
  prefixed.max_frame = 1000;
  error.clear();
  Split(prefixed, std::string("\x7f\xff\xff\xff", 4) + "data", 64, &error);
  CHECK(error.find("over max_frame") != std::string::npos);

  prefixed.length_includes_header = true;
  error.clear();
  Split(prefixed, std::string("\0\0\0\x02", 4) + "data", 64, &error);
  CHECK(error.find("shorter than its own header") != std::string::npos);

  FrameSplitter failed(prefixed);
  std::vector<std::size_t> ends;
  CHECK_FALSE(failed.Scan(std::string("\0\0\0\x01", 4), ends));
  CHECK_FALSE(failed.Scan(std::string("more"), ends));  // stays failed
}
