#include "faultline/experiments/history.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <utility>

#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

namespace faultline::experiments {
namespace {

namespace bj = boost::json;

constexpr std::size_t kMaxDescribedValue = 60;

std::optional<Op::Type> TypeFromName(std::string_view name) {
  for (Op::Type type : {Op::Type::kInvoke, Op::Type::kOk, Op::Type::kFail, Op::Type::kInfo}) {
    if (TypeName(type) == name) return type;
  }
  return std::nullopt;
}

// JSON text cut to `max` bytes, on a UTF-8 character boundary, so summaries stay one line. A
// lone number is printed as people write it (1.5, not Boost's 1.5E0).
std::string Shortened(const bj::value& value, std::size_t max) {
  std::string text;
  if (value.is_double()) {
    char number[32];
    text.assign(number, std::to_chars(number, number + sizeof number, value.as_double()).ptr);
  } else {
    text = bj::serialize(value);
  }
  if (text.size() <= max) return text;
  std::size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "...";
}

core::Error FieldError(std::string_view field, std::string_view problem) {
  return core::MakeError("\"" + std::string(field) + "\" " + std::string(problem));
}

// A whole number in [0, max]. Integral doubles (1e9) are accepted: some clients write them.
core::Result<std::int64_t> WholeNumber(const bj::value& value, std::string_view field,
                                       std::int64_t max, std::string_view what) {
  const auto refuse = [&] {
    return FieldError(field, "must be " + std::string(what) + ", not " + Shortened(value, 40));
  };
  if (value.is_int64()) {
    if (value.as_int64() < 0 || value.as_int64() > max) return refuse();
    return value.as_int64();
  }
  if (value.is_uint64()) {
    if (value.as_uint64() > static_cast<std::uint64_t>(max)) return refuse();
    return static_cast<std::int64_t>(value.as_uint64());
  }
  if (value.is_double()) {
    const double d = value.as_double();
    // 2^63 itself does not fit; every double below it that is whole does.
    if (!(d >= 0) || d != std::floor(d) || d >= 9223372036854775808.0 ||
        static_cast<std::int64_t>(d) > max) {
      return refuse();
    }
    return static_cast<std::int64_t>(d);
  }
  return refuse();
}

// A process id: any integer that fits in 64 bits (a thread id, a pid, a client's own number),
// also written as a whole double.
core::Result<std::int64_t> Integer(const bj::value& value) {
  if (value.is_int64()) return value.as_int64();
  if (value.is_double()) {
    const double d = value.as_double();
    if (d == std::floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
      return static_cast<std::int64_t>(d);
    }
  }
  return FieldError("process",
                    "must be a whole number that fits in 64 bits, not " + Shortened(value, 40));
}

// Which of the optional fields a line carried.
struct Given {
  bool value = false;
  bool process = false;
  bool time = false;
  bool index = false;
};

// The fields of one parsed line, moved out of `object`; everything unknown goes to extra.
core::Result<Op> OpFromObject(bj::object& object, Given& given) {
  Op op;
  bool has_type = false;
  bool has_f = false;
  for (auto& entry : object) {
    const std::string_view key = entry.key();
    bj::value& field = entry.value();
    if (key == "type") {
      const std::optional<Op::Type> type =
          field.is_string() ? TypeFromName(field.as_string()) : std::nullopt;
      if (!type) {
        return FieldError("type", "must be invoke, ok, fail or info, not " + Shortened(field, 40));
      }
      op.type = *type;
      has_type = true;
    } else if (key == "f") {
      if (!field.is_string() || field.as_string().empty()) {
        return FieldError("f", "must be a non-empty string, not " + Shortened(field, 40));
      }
      op.f = field.as_string();
      has_f = true;
    } else if (key == "value") {
      op.value = std::move(field);
      given.value = true;
    } else if (key == "process") {
      auto process = Integer(field);
      if (!process) return process.error();
      op.process = *process;
      given.process = true;
    } else if (key == "time") {
      auto time = WholeNumber(field, "time", std::numeric_limits<std::int64_t>::max(),
                              "whole nanoseconds since the run started (see FAULTLINE_START_NS)");
      if (!time) return time.error();
      op.time_ns = *time;
      given.time = true;
    } else if (key == "index") {
      auto index = WholeNumber(field, "index", std::numeric_limits<std::int64_t>::max(),
                               "a whole number, 0 or more");
      if (!index) return index.error();
      op.index = static_cast<std::uint64_t>(*index);
      given.index = true;
    } else {
      op.extra.emplace(key, std::move(field));
    }
  }
  if (!has_type) return FieldError("type", "is missing");
  if (!has_f) return FieldError("f", "is missing");
  return op;
}

core::Result<bj::object> ParseObject(std::string_view line) {
  if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return core::MakeError("line is empty");
  }
  bj::parser parser;
  boost::system::error_code ec;
  const std::size_t consumed = parser.write(line.data(), line.size(), ec);
  if (ec) {
    return core::MakeError("line is not JSON: " + ec.message() + " at column " +
                           std::to_string(consumed + 1));
  }
  bj::value value = parser.release();
  if (!value.is_object()) {
    return core::MakeError("line is not a JSON object: " + Shortened(value, 40));
  }
  return std::move(value.as_object());
}

std::string TimeText(std::int64_t time_ns) { return std::to_string(time_ns) + "ns"; }

}  // namespace

std::string_view TypeName(Op::Type type) {
  switch (type) {
    case Op::Type::kInvoke:
      return "invoke";
    case Op::Type::kOk:
      return "ok";
    case Op::Type::kFail:
      return "fail";
    case Op::Type::kInfo:
      return "info";
  }
  return "?";
}

std::string DescribeOp(const Op& op) {
  std::string text =
      "op " + std::to_string(op.index) + " (process " + std::to_string(op.process) + ", " + op.f;
  if (!op.value.is_null()) text += " " + Shortened(op.value, kMaxDescribedValue);
  return text + ")";
}

core::Result<Op> ParseOpLine(std::string_view line, std::int64_t default_process,
                             std::int64_t read_time_ns) {
  auto object = ParseObject(line);
  if (!object) return object.error();
  Given given;
  auto op = OpFromObject(*object, given);
  if (!op) return op;
  if (given.index) return FieldError("index", "is the history's to assign, not a client's");
  if (!given.process) op->process = default_process;
  if (!given.time) op->time_ns = read_time_ns;
  return op;
}

bj::object ToJson(const Op& op) {
  bj::object object;
  object.reserve(6 + op.extra.size());
  object.emplace("type", TypeName(op.type));
  object.emplace("f", op.f);
  object.emplace("value", op.value);
  object.emplace("process", op.process);
  object.emplace("time", op.time_ns);
  object.emplace("index", op.index);
  for (const auto& entry : op.extra) object.emplace(entry.key(), entry.value());
  return object;
}

std::string FormatOpLine(const Op& op) { return bj::serialize(ToJson(op)); }

std::uint64_t History::Append(Op op) {
  const std::uint64_t index = ops_.size();
  op.index = index;
  std::uint64_t pair = kUnpaired;
  if (op.type == Op::Type::kInvoke) {
    auto [open, inserted] = open_invoke_.try_emplace(op.process, index);
    if (!inserted) {
      // The earlier invoke never completes: it stays indeterminate.
      errors_.push_back({index, DescribeOp(op) + " is an invoke while " +
                                    DescribeOp(ops_[open->second]) + " is still open"});
      open->second = index;
    }
  } else {
    const std::string completion =
        (op.type == Op::Type::kFail ? "a " : "an ") + std::string(TypeName(op.type));
    auto open = open_invoke_.find(op.process);
    if (open == open_invoke_.end()) {
      errors_.push_back({index, DescribeOp(op) + " is " + completion +
                                    " with no invoke before it: process " +
                                    std::to_string(op.process) + " has no open operation"});
    } else if (ops_[open->second].f != op.f) {
      // Left open: its own completion may still come.
      errors_.push_back({index, DescribeOp(op) + " is " + completion + " of " + op.f +
                                    ", but the open operation of process " +
                                    std::to_string(op.process) + " is " +
                                    DescribeOp(ops_[open->second])});
    } else {
      pair = open->second;
      pair_[pair] = index;
      open_invoke_.erase(open);
      const Op& invoke = ops_[pair];
      if (op.time_ns < invoke.time_ns) {
        errors_.push_back({index, DescribeOp(op) + " completes " + DescribeOp(invoke) + " at " +
                                      TimeText(op.time_ns) + ", before it was invoked at " +
                                      TimeText(invoke.time_ns)});
      }
    }
  }
  ops_.push_back(std::move(op));
  pair_.push_back(pair);
  return index;
}

std::optional<std::uint64_t> History::PairOf(std::uint64_t index) const {
  if (index >= pair_.size() || pair_[index] == kUnpaired) return std::nullopt;
  return pair_[index];
}

Op::Type History::OutcomeOf(std::uint64_t invoke_index) const {
  const std::optional<std::uint64_t> completion = PairOf(invoke_index);
  return completion ? ops_[*completion].type : Op::Type::kInfo;
}

std::map<std::string, FStats, std::less<>> History::StatsByF() const {
  std::map<std::string, FStats, std::less<>> stats;
  for (const Op& op : ops_) {
    if (op.type != Op::Type::kInvoke) continue;
    auto it = stats.find(op.f);
    if (it == stats.end()) it = stats.emplace(op.f, FStats{}).first;
    FStats& of_f = it->second;
    const std::optional<std::uint64_t> completion = PairOf(op.index);
    switch (completion ? ops_[*completion].type : Op::Type::kInfo) {
      case Op::Type::kOk:
        ++of_f.ok;
        break;
      case Op::Type::kFail:
        ++of_f.fail;
        break;
      default:
        ++of_f.info;
        break;
    }
    if (completion) of_f.latencies_ns.push_back(ops_[*completion].time_ns - op.time_ns);
  }
  return stats;
}

core::Status WriteHistory(const History& history, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return core::MakeError("cannot write " + path);
  for (const Op& op : history.ops()) out << FormatOpLine(op) << '\n';
  out.close();
  if (!out) return core::MakeError("cannot write " + path);
  return core::Ok();
}

core::Result<History> ReadHistory(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::MakeError("cannot read " + path);
  History history;
  std::string line;
  std::uint64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const auto at_line = [&](const core::Error& error) {
      return core::MakeError(path + ":" + std::to_string(line_number) + ": " + error.message);
    };
    auto object = ParseObject(line);
    if (!object) return at_line(object.error());
    Given given;
    auto op = OpFromObject(*object, given);
    if (!op) return at_line(op.error());
    const std::pair<std::string_view, bool> required[] = {{"value", given.value},
                                                          {"process", given.process},
                                                          {"time", given.time},
                                                          {"index", given.index}};
    for (const auto& [field, present] : required) {
      if (!present) return at_line(FieldError(field, "is missing"));
    }
    if (op->index != history.size()) {
      return at_line(FieldError("index", "is " + std::to_string(op->index) + ", but this is op " +
                                             std::to_string(history.size())));
    }
    history.Append(std::move(*op));
  }
  if (in.bad()) return core::MakeError("cannot read " + path);
  return history;
}

}  // namespace faultline::experiments
