// The operation history: client lines as the parser reads them (and every kind of bad line,
// with its message), invoke/completion pairing and its errors, counts and latencies, and the
// history.jsonl round trip.

#include <catch2/catch.hpp>

#include <limits>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>

#include "faultline/experiments/history.h"
#include "support/run.h"

using namespace faultline::experiments;
using faultline::testing::TempDir;
namespace bj = boost::json;

namespace {

Op Parsed(std::string_view line) {
  auto op = ParseOpLine(line, 7, 1234);
  INFO(line);
  REQUIRE(op);
  return *op;
}

std::string Refused(std::string_view line) {
  auto op = ParseOpLine(line, 7, 1234);
  INFO(line);
  REQUIRE(!op);
  return op.message();
}

Op MakeOp(Op::Type type, std::string f, bj::value value, int process, std::int64_t time_ns) {
  Op op;
  op.type = type;
  op.f = std::move(f);
  op.value = std::move(value);
  op.process = process;
  op.time_ns = time_ns;
  return op;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("a client line gives the op, the client's number and the read time by default",
          "[experiments][history]") {
  const Op op = Parsed(R"({"type":"invoke","f":"write","value":3})");
  CHECK(op.type == Op::Type::kInvoke);
  CHECK(op.f == "write");
  CHECK(op.value == bj::value(3));
  CHECK(op.process == 7);
  CHECK(op.time_ns == 1234);
  CHECK(op.extra.empty());
}

TEST_CASE("a client line may give its process and time, and keeps its own fields",
          "[experiments][history]") {
  const Op op = Parsed(R"({"time":5000,"type":"fail","process":2,"f":"cas","value":[1,2],)"
                       R"("error":"timeout","node":{"name":"n1"}})");
  CHECK(op.type == Op::Type::kFail);
  CHECK(op.f == "cas");
  CHECK(op.value == bj::parse("[1,2]"));
  CHECK(op.process == 2);
  CHECK(op.time_ns == 5000);
  CHECK(op.extra == bj::parse(R"({"error":"timeout","node":{"name":"n1"}})").as_object());
}

TEST_CASE("every type parses; value may be absent or any JSON", "[experiments][history]") {
  CHECK(Parsed(R"({"type":"ok","f":"read"})").type == Op::Type::kOk);
  CHECK(Parsed(R"({"type":"info","f":"read"})").type == Op::Type::kInfo);
  CHECK(Parsed(R"({"type":"invoke","f":"read"})").value.is_null());
  CHECK(Parsed(R"({"type":"ok","f":"read","value":{"k":[null,"x",1.5]}})").value ==
        bj::parse(R"({"k":[null,"x",1.5]})"));
  // Some clients print nanoseconds as floating point; whole ones are fine.
  CHECK(Parsed(R"({"type":"ok","f":"read","time":1e9})").time_ns == 1'000'000'000);
  CHECK(Parsed(" {\"type\":\"ok\",\"f\":\"read\"}\r").f == "read");
}

TEST_CASE("a bad client line is refused with the field and the problem", "[experiments][history]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "line is empty"},
      {"  \t", "line is empty"},
      {"write 3", "line is not JSON: syntax error at column 1"},
      {R"({"type":"invoke")", "line is not JSON: incomplete JSON at column 17"},
      {R"({"type":"ok","f":"x"} trailing)", "line is not JSON: extra data at column 23"},
      {"[1,2]", "line is not a JSON object: [1,2]"},
      {R"("ok")", "line is not a JSON object: \"ok\""},
      {R"({"f":"write"})", "\"type\" is missing"},
      {R"({"type":"done","f":"write"})", "\"type\" must be invoke, ok, fail or info, not \"done\""},
      {R"({"type":"OK","f":"write"})", "\"type\" must be invoke, ok, fail or info, not \"OK\""},
      {R"({"type":3,"f":"write"})", "\"type\" must be invoke, ok, fail or info, not 3"},
      {R"({"type":"ok"})", "\"f\" is missing"},
      {R"({"type":"ok","f":""})", "\"f\" must be a non-empty string, not \"\""},
      {R"({"type":"ok","f":7})", "\"f\" must be a non-empty string, not 7"},
      {R"({"type":"ok","f":null})", "\"f\" must be a non-empty string, not null"},
      {R"({"type":"ok","f":"w","process":1.5})",
       "\"process\" must be a whole number that fits in 64 bits, not 1.5"},
      {R"({"type":"ok","f":"w","process":"2"})",
       "\"process\" must be a whole number that fits in 64 bits, not \"2\""},
      {R"({"type":"ok","f":"w","process":9223372036854775808})",
       "\"process\" must be a whole number that fits in 64 bits, not 9223372036854775808"},
      {R"({"type":"ok","f":"w","time":-5})",
       "\"time\" must be whole nanoseconds since the run started (see FAULTLINE_START_NS), not -5"},
      // Epoch seconds, as a new user wrote them.
      {R"({"type":"ok","f":"w","time":1733241234.56})",
       "\"time\" must be whole nanoseconds since the run started (see FAULTLINE_START_NS), not "
       "1733241234.56"},
      {R"({"type":"ok","f":"w","time":"soon"})",
       "\"time\" must be whole nanoseconds since the run started (see FAULTLINE_START_NS), not "
       "\"soon\""},
      {R"({"type":"ok","f":"w","index":3})",
       "\"index\" is the history's to assign, not a client's"},
  };
  for (const auto& [line, message] : cases) CHECK(Refused(line) == message);
}

TEST_CASE("a process id is any integer that fits in 64 bits", "[experiments][history]") {
  for (const std::int64_t process :
       {std::int64_t{-1}, std::int64_t{3'000'000'000}, std::numeric_limits<std::int64_t>::max(),
        std::numeric_limits<std::int64_t>::min()}) {
    CAPTURE(process);
    auto op =
        ParseOpLine(R"({"type":"invoke","f":"w","process":)" + std::to_string(process) + "}", 0, 0);
    REQUIRE(op);
    CHECK(op->process == process);
    CHECK(FormatOpLine(*op).find(R"("process":)" + std::to_string(process)) != std::string::npos);
  }
}

TEST_CASE("a long value is shortened where a message shows it", "[experiments][history]") {
  const std::string message = Refused(R"({"type":"ok","f":")" + std::string(100, 'x') +
                                      R"(","process":")" + std::string(100, 'y') + R"("})");
  CHECK(message == "\"process\" must be a whole number that fits in 64 bits, not \"" +
                       std::string(36, 'y') + "...");
  Op op = MakeOp(Op::Type::kOk, "write", bj::value(std::string(100, 'v')), 2, 0);
  op.index = 57;
  CHECK(DescribeOp(op) == "op 57 (process 2, write \"" + std::string(56, 'v') + "...)");
  // Never in the middle of a character: 'é' is two bytes, and the cut falls between them.
  std::string accents = "x";
  for (int i = 0; i < 40; ++i) accents += "é";
  op.value = bj::value(accents);
  std::string kept = "x";
  for (int i = 0; i < 27; ++i) kept += "é";
  CHECK(DescribeOp(op) == "op 57 (process 2, write \"" + kept + "...)");
}

TEST_CASE("ops are described by index, process, f and value", "[experiments][history]") {
  Op op = MakeOp(Op::Type::kFail, "write", 3, 2, 0);
  op.index = 57;
  CHECK(DescribeOp(op) == "op 57 (process 2, write 3)");
  op.value = nullptr;
  CHECK(DescribeOp(op) == "op 57 (process 2, write)");
}

TEST_CASE("the history numbers ops in arrival order and pairs each completion with its invoke",
          "[experiments][history]") {
  History history;
  Op first = MakeOp(Op::Type::kInvoke, "write", 1, 0, 10);
  first.index = 99;  // the history's numbering wins
  CHECK(history.Append(first) == 0);
  CHECK(history.Append(MakeOp(Op::Type::kInvoke, "read", nullptr, 1, 20)) == 1);
  CHECK(history.Append(MakeOp(Op::Type::kOk, "read", 1, 1, 30)) == 2);
  CHECK(history.Append(MakeOp(Op::Type::kFail, "write", 1, 0, 40)) == 3);
  CHECK(history.Append(MakeOp(Op::Type::kInvoke, "write", 2, 0, 50)) == 4);

  REQUIRE(history.size() == 5);
  for (std::uint64_t i = 0; i < history.size(); ++i) CHECK(history[i].index == i);
  CHECK(history.PairOf(0) == 3u);
  CHECK(history.PairOf(3) == 0u);
  CHECK(history.PairOf(1) == 2u);
  CHECK(history.PairOf(2) == 1u);
  CHECK(history.PairOf(4) == std::nullopt);
  CHECK(history.PairOf(5) == std::nullopt);
  CHECK(history.OutcomeOf(0) == Op::Type::kFail);
  CHECK(history.OutcomeOf(1) == Op::Type::kOk);
  CHECK(history.OutcomeOf(4) == Op::Type::kInfo);  // still open: indeterminate
  CHECK(history.errors().empty());
}

TEST_CASE("a completion with no open invoke is a history error, not an exception",
          "[experiments][history]") {
  History history;
  history.Append(MakeOp(Op::Type::kInvoke, "write", 1, 0, 10));
  history.Append(MakeOp(Op::Type::kOk, "write", 1, 3, 20));
  REQUIRE(history.errors().size() == 1);
  CHECK(history.errors()[0].index == 1);
  CHECK(history.errors()[0].message ==
        "op 1 (process 3, write 1) is an ok with no invoke before it: process 3 has no open "
        "operation");
  CHECK(history.PairOf(1) == std::nullopt);
  CHECK(history.OutcomeOf(0) == Op::Type::kInfo);
}

TEST_CASE("a completion of another f leaves the open invoke open", "[experiments][history]") {
  History history;
  history.Append(MakeOp(Op::Type::kInvoke, "write", 1, 2, 10));
  history.Append(MakeOp(Op::Type::kFail, "read", nullptr, 2, 20));
  history.Append(MakeOp(Op::Type::kOk, "write", 1, 2, 30));
  REQUIRE(history.errors().size() == 1);
  CHECK(history.errors()[0].index == 1);
  CHECK(history.errors()[0].message ==
        "op 1 (process 2, read) is a fail of read, but the open operation of process 2 is op 0 "
        "(process 2, write 1)");
  CHECK(history.PairOf(0) == 2u);
  CHECK(history.OutcomeOf(0) == Op::Type::kOk);
}

TEST_CASE("a second invoke while one is open is a history error; the first stays indeterminate",
          "[experiments][history]") {
  History history;
  history.Append(MakeOp(Op::Type::kInvoke, "write", 1, 4, 10));
  history.Append(MakeOp(Op::Type::kInvoke, "write", 2, 4, 20));
  history.Append(MakeOp(Op::Type::kOk, "write", 2, 4, 30));
  REQUIRE(history.errors().size() == 1);
  CHECK(history.errors()[0].index == 1);
  CHECK(history.errors()[0].message ==
        "op 1 (process 4, write 2) is an invoke while op 0 (process 4, write 1) is still open");
  CHECK(history.OutcomeOf(0) == Op::Type::kInfo);
  CHECK(history.PairOf(1) == 2u);
}

TEST_CASE("a completion stamped before its invoke is a history error", "[experiments][history]") {
  History history;
  history.Append(MakeOp(Op::Type::kInvoke, "write", 1, 0, 600));
  history.Append(MakeOp(Op::Type::kOk, "write", 1, 0, 500));
  REQUIRE(history.errors().size() == 1);
  CHECK(history.errors()[0].message ==
        "op 1 (process 0, write 1) completes op 0 (process 0, write 1) at 500ns, before it was "
        "invoked at 600ns");
  CHECK(history.PairOf(0) == 1u);
}

TEST_CASE("counts by f and outcome, with open invokes as info, and latencies of completed ops",
          "[experiments][history]") {
  History history;
  history.Append(MakeOp(Op::Type::kInvoke, "write", 1, 0, 100));
  history.Append(MakeOp(Op::Type::kInvoke, "read", nullptr, 1, 150));
  history.Append(MakeOp(Op::Type::kOk, "write", 1, 0, 400));
  history.Append(MakeOp(Op::Type::kInvoke, "write", 2, 0, 500));
  history.Append(MakeOp(Op::Type::kInfo, "read", nullptr, 1, 1150));
  history.Append(MakeOp(Op::Type::kFail, "write", 2, 0, 520));
  history.Append(MakeOp(Op::Type::kInvoke, "read", nullptr, 1, 2000));  // never completes
  history.Append(MakeOp(Op::Type::kOk, "read", 9, 5, 2100));            // no invoke: not counted

  const auto stats = history.StatsByF();
  REQUIRE(stats.size() == 2);
  const FStats& write = stats.at("write");
  CHECK(write.ok == 1);
  CHECK(write.fail == 1);
  CHECK(write.info == 0);
  CHECK(write.latencies_ns == std::vector<std::int64_t>{300, 20});
  const FStats& read = stats.at("read");
  CHECK(read.ok == 0);
  CHECK(read.fail == 0);
  CHECK(read.info == 2);
  CHECK(read.latencies_ns == std::vector<std::int64_t>{1000});
}

TEST_CASE("an op's history.jsonl line has the fixed fields first, then the client's",
          "[experiments][history]") {
  Op op = MakeOp(Op::Type::kFail, "write", 3, 2, 5000);
  op.index = 57;
  op.extra["error"] = "timeout";
  CHECK(FormatOpLine(op) ==
        R"({"type":"fail","f":"write","value":3,"process":2,"time":5000,"index":57,)"
        R"("error":"timeout"})");
  op.extra.clear();
  op.value = nullptr;
  CHECK(FormatOpLine(op) ==
        R"({"type":"fail","f":"write","value":null,"process":2,"time":5000,"index":57})");
}

TEST_CASE("history.jsonl reads back to an equal history", "[experiments][history]") {
  History history;
  history.Append(
      *ParseOpLine(R"({"type":"invoke","f":"write","value":{"k":"a","v":[1,2.5]}})", 0, 10));
  history.Append(*ParseOpLine(R"({"type":"invoke","f":"read","process":3,"time":11})", 1, 12));
  history.Append(*ParseOpLine(R"({"type":"ok","f":"read","value":"é\n\"","process":3})", 1, 20));
  history.Append(
      *ParseOpLine(R"({"type":"info","f":"write","error":["timeout",5],"x":null})", 0, 30));
  history.Append(*ParseOpLine(R"({"type":"fail","f":"cas","value":[1,2]})", 2, 40));  // stray
  history.Append(*ParseOpLine(R"({"type":"invoke","f":"generate"})", 4, 50));         // open

  TempDir dir;
  const std::string path = dir.path + "/history.jsonl";
  REQUIRE(WriteHistory(history, path));
  auto read = ReadHistory(path);
  REQUIRE(read);
  CHECK(*read == history);
  REQUIRE(read->size() == history.size());
  for (std::uint64_t i = 0; i < history.size(); ++i) {
    CHECK(FormatOpLine((*read)[i]) == FormatOpLine(history[i]));
    CHECK(read->PairOf(i) == history.PairOf(i));
  }
  REQUIRE(read->errors().size() == 1);
  CHECK(read->errors()[0].message == history.errors()[0].message);
}

TEST_CASE("an empty history round-trips too", "[experiments][history]") {
  TempDir dir;
  const std::string path = dir.path + "/history.jsonl";
  REQUIRE(WriteHistory(History{}, path));
  auto read = ReadHistory(path);
  REQUIRE(read);
  CHECK(read->empty());
}

TEST_CASE("a bad history.jsonl is refused with the file, the line and the problem",
          "[experiments][history]") {
  TempDir dir;
  const std::string path = dir.path + "/history.jsonl";
  const std::string good = R"({"type":"invoke","f":"w","value":1,"process":0,"time":5,"index":0})"
                           "\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"type":"ok","f":"w","value":1,"process":0,"time":6})", "\"index\" is missing"},
      {R"({"type":"ok","f":"w","value":1,"process":0,"index":1})", "\"time\" is missing"},
      {R"({"type":"ok","f":"w","value":1,"time":6,"index":1})", "\"process\" is missing"},
      {R"({"type":"ok","f":"w","process":0,"time":6,"index":1})", "\"value\" is missing"},
      {R"({"type":"ok","f":"w","value":1,"process":0,"time":6,"index":2})",
       "\"index\" is 2, but this is op 1"},
      {R"({"type":"ok","f":"w","value":1,"process":0,"time":6,"index":0})",
       "\"index\" is 0, but this is op 1"},
      {R"({"type":"done","f":"w","value":1,"process":0,"time":6,"index":1})",
       "\"type\" must be invoke, ok, fail or info, not \"done\""},
      {"", "line is empty"},
      {R"({"type":"ok",)", "line is not JSON: incomplete JSON at column 14"},
  };
  for (const auto& [second, message] : cases) {
    WriteFile(path, good + second + "\n");
    auto read = ReadHistory(path);
    INFO(second);
    REQUIRE(!read);
    CHECK(read.message() == path + ":2: " + message);
  }
  auto missing = ReadHistory(dir.path + "/none.jsonl");
  REQUIRE(!missing);
  CHECK(missing.message() == "cannot read " + dir.path + "/none.jsonl");
  CHECK(WriteHistory(History{}, dir.path + "/no/such/dir/history.jsonl").message() ==
        "cannot write " + dir.path + "/no/such/dir/history.jsonl");
}
