#include "faultline/core/text.h"

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
  std::vector<std::string_view> words;
  while (!text.empty()) {
    const auto space = text.find(' ');
    if (space != 0) words.push_back(text.substr(0, space));
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
  }
  return words;
}

}  // namespace faultline::core
