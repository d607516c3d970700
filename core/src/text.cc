#include "faultline/core/text.h"

#include <algorithm>
#include <cstdio>

namespace faultline::core {

std::string FormatFixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

namespace {
bool IsLetterOrDigit(char c) {  // ASCII only, whatever the locale
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
}  // namespace

bool IsName(std::string_view text) {
  if (text.empty() || !IsLetterOrDigit(text.front())) return false;
  for (const char c : text) {
    if (!IsLetterOrDigit(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

std::vector<std::string_view> SplitWords(std::string_view text) {
  constexpr std::string_view kSpace = " \t";
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while ((at = text.find_first_not_of(kSpace, at)) != std::string_view::npos) {
    const std::size_t end = std::min(text.find_first_of(kSpace, at), text.size());
    words.push_back(text.substr(at, end - at));
    at = end;
  }
  return words;
}

}  // namespace faultline::core
