#pragma once
// Pattern: a regular expression, as faultline reads one wherever a user writes it (a frame
// toxic's `match`, a service's `ready: {log: ...}`). The tree's one regex engine is RE2:
// its syntax, without backreferences or lookaround, and a search takes time linear in the
// text whatever the pattern. With the size of a pattern bounded too, no pattern can stall
// the thread that runs it.
//
// Text is matched byte by byte (Latin-1): `.` is one byte (not \n), `\xff` the byte 0xff, UTF-8
// in a pattern matches the same UTF-8 in the text. `^` and `$` anchor at the start and the
// end of the whole text searched (no line anchors unless the pattern asks for `(?m)`).
//
// A Pattern is compiled once and immutable: copies share it, and one Pattern may search
// from many threads at once.

#include <memory>
#include <string>
#include <string_view>

#include "faultline/core/result.h"

namespace re2 {
class RE2;
}

namespace faultline::proxy {

class Pattern {
 public:
  // The pattern `text` describes, or why it cannot be one: RE2's reason it cannot compile
  // it, e.g. "invalid escape sequence: \1" or "invalid perl operator: (?=", or that it
  // compiles to more than 1000 RE2 instructions (what bounds the cost of a search per byte).
  static core::Result<Pattern> Compile(std::string_view text);

  // Whether the pattern matches somewhere in `text`.
  bool Finds(std::string_view text) const;
  // The pattern as written.
  const std::string& text() const;

  friend bool operator==(const Pattern& a, const Pattern& b) { return a.text() == b.text(); }

 private:
  explicit Pattern(std::shared_ptr<const re2::RE2> regex) : regex_(std::move(regex)) {}

  std::shared_ptr<const re2::RE2> regex_;
};

}  // namespace faultline::proxy
