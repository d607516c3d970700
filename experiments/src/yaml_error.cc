#include "faultline/experiments/yaml_error.h"

#include <string_view>

namespace faultline::experiments {
namespace {

struct Hint {
  std::string_view starts;  // the start of yaml-cpp's message
  std::string_view advice;
};

// yaml-cpp's messages (yaml-cpp/exceptions.h, ErrorMsg) for what goes wrong in hand-written
// specs, each with what usually caused it.
constexpr Hint kHints[] = {
    {"illegal map value",
     "a `: ` inside a value starts a mapping: quote this string, e.g. "
     "command: \"echo a: b\""},
    {"unknown escape character",
     "inside double quotes a backslash starts an escape: use single quotes, or write \\\\"},
    {"end of sequence flow not found",
     "a `[` is not closed; a value that starts with `[` needs quotes"},
    {"end of map flow not found", "a `{` is not closed; a value that starts with `{` needs quotes"},
    {"end of map not found",
     "check this line's indentation against the line above; a value that starts with a quote "
     "must end with it, so quote the whole string with the other kind"},
    {"illegal block entry",
     "a `- ` item where a mapping was expected, or a tab in the indentation (YAML indents with "
     "spaces)"},
    {"unknown token", "a value that starts with `@` or ` is reserved in YAML: quote this string"},
    {"the referenced anchor is not defined",
     "a value that starts with `*` is an alias in YAML: quote this string"},
};

}  // namespace

std::string DescribeYamlError(const YAML::Exception& error) {
  std::string text = "not valid YAML: " + error.msg;
  for (const Hint& hint : kHints) {
    if (std::string_view(error.msg).starts_with(hint.starts)) {
      text += " (" + std::string(hint.advice) + ")";
      break;
    }
  }
  return text;
}

}  // namespace faultline::experiments
