#include "faultline/experiments/report.h"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <tuple>
#include <vector>

#include "faultline/core/text.h"
#include "faultline/experiments/run_dir.h"
#include "json_fields.h"

namespace faultline::experiments {
namespace {

namespace fs = std::filesystem;
namespace bj = boost::json;

// Geometry of the timeline, in SVG user units (about pixels).
constexpr double kLabelWidth = 190;
constexpr double kPlotWidth = 960;
constexpr double kRowHeight = 18;
constexpr double kRateHeight = 70;
constexpr int kRateBuckets = 120;
constexpr std::size_t kMaxEventRows = 2000;
constexpr int kMaxProcessRows = 64;

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

using json_fields::Number;
using json_fields::Text;

// The run as its directory tells it.
struct RunRecord {
  std::string dir;
  bj::object result;  // empty when result.json is missing: the run did not finish
  std::vector<bj::object> events;
  std::size_t unreadable_events = 0;
  const History* history = nullptr;
  std::string history_problem;  // why there are no operations to show, if there are none
  std::vector<std::string> logs;
  double end_seconds = 0;  // the timeline's right edge
};

struct FaultWindow {
  std::string id, kind, target, description;
  double start = 0;
  std::optional<double> end;  // none: still active when the log ends
  bool failed = false;        // fault_failed: it could not be applied
  std::string error;
};

struct ServiceLife {
  struct Mark {
    double time;
    std::string what;  // started, ready, exited, stopped
    std::string detail;
  };
  std::vector<Mark> marks;
};

struct Violated {
  std::string invariant, summary;
  std::optional<double> time;
  std::optional<std::uint64_t> op_index;
};

// Which family a fault kind belongs to, for its colour.
std::string_view FaultClass(std::string_view kind) {
  if (kind == "pause" || kind == "kill") return "process";
  if (kind == "rule" || kind == "skew") return "shim";
  return "toxic";
}

class Page {
 public:
  explicit Page(const RunRecord& run) : run_(run) {
    ReadFaults();
    ReadServices();
    ReadViolations();
  }

  std::string Render() {
    out_ << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>"
         << Escape(Experiment()) << " " << Escape(RunId()) << ": " << Escape(Verdict())
         << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
    Summary();
    Violations();
    Timeline();
    Decisions();
    Events();
    Files();
    out_ << "</body>\n</html>\n";
    return out_.str();
  }

 private:
  static constexpr const char* kStyle =
      "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#212121}"
      "h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 8px}"
      "table{border-collapse:collapse}td,th{padding:2px 10px 2px 0;text-align:left;"
      "vertical-align:top}th{color:#616161;font-weight:normal}"
      ".verdict{padding:1px 8px;border-radius:3px;color:#fff;font-weight:bold}"
      ".pass{background:#2e7d32}.fail{background:#c62828}.error,.incomplete{background:#6d4c41}"
      ".violation{border-left:4px solid #c62828;background:#ffebee;padding:8px 12px;"
      "margin:8px 0}pre{white-space:pre-wrap;margin:4px 0;font-size:12px}"
      "code{font-size:13px}.note{color:#616161}"
      "svg text{font:11px system-ui,sans-serif;fill:#424242}"
      "svg .axis{stroke:#bdbdbd}svg .section{font-weight:bold;fill:#212121}"
      "svg .violated{fill:#c62828}"
      ".toxic{fill:#1565c0}.shim{fill:#6a1b9a}.process{fill:#e65100}.faultfailed{fill:#9e9e9e}"
      ".shade.toxic,.shade.shim,.shade.process{fill-opacity:.08}"
      ".ok{fill:#43a047}.failop{fill:#e53935}.info{fill:#fb8c00}"
      ".life{fill:#90a4ae}.ready{fill:#2e7d32}.exit{fill:#c62828}"
      ".vline{stroke:#c62828;stroke-width:1.5;stroke-dasharray:4 3}"
      ".evidence{stroke:#b71c1c;stroke-width:2.5;fill:none}"
      "tr.bad td{color:#c62828}";

  std::string Experiment() const {
    std::string name = Text(run_.result, "experiment");
    if (name.empty()) name = StartField("experiment");
    return name.empty() ? fs::path(run_.dir).parent_path().filename().string() : name;
  }
  std::string RunId() const {
    std::string id = Text(run_.result, "run_id");
    if (id.empty()) id = StartField("run_id");
    return id.empty() ? fs::path(run_.dir).filename().string() : id;
  }
  std::string Verdict() const {
    const std::string verdict = Text(run_.result, "verdict");
    return verdict.empty() ? "incomplete" : verdict;
  }
  std::string StartField(std::string_view key) const {
    for (const bj::object& event : run_.events) {
      if (Text(event, "event") == "run_started") return Text(event, key);
    }
    return "";
  }

  void ReadFaults() {
    std::map<std::string, std::size_t> open;
    for (const bj::object& event : run_.events) {
      const std::string name = Text(event, "event");
      const std::string id = Text(event, "fault");
      const double time = Number(event, "time");
      if (name == "fault_started" || name == "fault_failed") {
        FaultWindow window;
        window.id = id;
        window.kind = Text(event, "kind");
        window.target = Text(event, "target");
        window.description = Text(event, "description");
        window.start = time;
        window.failed = name == "fault_failed";
        window.error = Text(event, "error");
        if (window.failed) window.end = time;
        open[id] = faults_.size();
        faults_.push_back(std::move(window));
      } else if (name == "fault_ended") {
        if (auto it = open.find(id); it != open.end()) faults_[it->second].end = time;
      }
    }
  }

  void ReadServices() {
    for (const bj::object& event : run_.events) {
      const std::string name = Text(event, "event");
      if (!name.starts_with("service_")) continue;
      const std::string what = name.substr(8);
      std::string detail;
      if (what == "started") detail = "pid " + Text(event, "pid");
      if (what == "exited" || what == "stopped") detail = "code " + Text(event, "code");
      if (what == "restart_failed") detail = Text(event, "error");
      services_[Text(event, "service")].marks.push_back(
          {Number(event, "time"), what, std::move(detail)});
    }
  }

  void ReadViolations() {
    std::map<std::string, double> times;  // of the invariant_violated events
    for (const bj::object& event : run_.events) {
      if (Text(event, "event") == "invariant_violated") {
        times.emplace(Text(event, "invariant"), Number(event, "time"));
      }
    }
    const bj::value* list = run_.result.if_contains("violations");
    if (list == nullptr || !list->is_array()) {
      // No result: the events still say what was violated.
      for (const auto& [invariant, time] : times) violations_.push_back({invariant, "", time, {}});
      return;
    }
    for (const bj::value& item : list->as_array()) {
      if (!item.is_object()) continue;
      const bj::object& violation = item.as_object();
      Violated entry{Text(violation, "invariant"), Text(violation, "summary"), std::nullopt,
                     std::nullopt};
      if (auto it = times.find(entry.invariant); it != times.end()) entry.time = it->second;
      if (const bj::value* evidence = violation.if_contains("evidence");
          evidence != nullptr && evidence->is_object()) {
        if (const bj::value* index = evidence->as_object().if_contains("op_index");
            index != nullptr && index->is_number()) {
          entry.op_index = index->to_number<std::uint64_t>();
        }
        evidence_[entry.invariant] = bj::serialize(*evidence);
      }
      violations_.push_back(std::move(entry));
    }
  }

  void Summary() {
    const std::string verdict = Verdict();
    out_ << "<h1>" << Escape(Experiment()) << " <span class=\"verdict " << Escape(verdict) << "\">"
         << Escape(verdict) << "</span></h1>\n<table>\n";
    Row("run", RunId());
    std::string seed = Text(run_.result, "seed");
    if (seed.empty()) seed = StartField("seed");
    Row("seed", seed);
    if (const std::string started = Text(run_.result, "started"); !started.empty()) {
      Row("started", started);
    }
    Row("duration", core::FormatFixed(run_.end_seconds, 2) + " s");
    if (const bj::value* ops = run_.result.if_contains("ops"); ops && ops->is_object()) {
      Row("operations", Text(ops->as_object(), "total") +
                            " history entries: " + Text(ops->as_object(), "ok") + " ok, " +
                            Text(ops->as_object(), "failed") + " failed or unknown");
    }
    std::size_t applied = 0;
    for (const FaultWindow& fault : faults_) applied += fault.failed ? 0 : 1;
    Row("faults", std::to_string(applied) + " applied" +
                      (applied == faults_.size()
                           ? ""
                           : ", " + std::to_string(faults_.size() - applied) + " failed"));
    if (const std::string error = Text(run_.result, "error"); !error.empty()) {
      Row("error", error);
    }
    out_ << "<tr><th>replay</th><td><code>faultline replay " << Escape(run_.dir)
         << "</code></td></tr>\n</table>\n";
    if (run_.result.empty()) {
      out_ << "<p class=\"note\">This run has no result.json: it did not finish (the runner "
              "was killed?). What follows is from its event log.</p>\n";
    }
  }

  void Row(std::string_view name, const std::string& value) {
    out_ << "<tr><th>" << name << "</th><td>" << Escape(value) << "</td></tr>\n";
  }

  void Violations() {
    if (violations_.empty()) return;
    out_ << "<h2>Violated invariants</h2>\n";
    for (const Violated& violation : violations_) {
      out_ << "<div class=\"violation\"><b>" << Escape(violation.invariant) << "</b>";
      if (violation.time) out_ << " at " << core::FormatFixed(*violation.time, 3) << " s";
      out_ << "<br/>" << Escape(violation.summary);
      if (auto it = evidence_.find(violation.invariant);
          it != evidence_.end() && it->second != "{}") {
        out_ << "<pre>" << Escape(it->second) << "</pre>";
      }
      out_ << "</div>\n";
    }
  }

  double X(double seconds) const {
    const double clamped = std::clamp(seconds, 0.0, run_.end_seconds);
    return kLabelWidth + clamped / run_.end_seconds * kPlotWidth;
  }

  void Rect(double x0, double x1, double y, double height, std::string_view css,
            const std::string& title, std::string_view extra = "") {
    out_ << "<rect class=\"" << css << "\" x=\"" << core::FormatFixed(x0, 1) << "\" y=\""
         << core::FormatFixed(y, 1) << "\" width=\"" << core::FormatFixed(std::max(x1 - x0, 1.5), 1)
         << "\" height=\"" << core::FormatFixed(height, 1) << "\"" << extra << ">";
    if (!title.empty()) out_ << "<title>" << Escape(title) << "</title>";
    out_ << "</rect>\n";
  }

  void Label(double x, double y, const std::string& text, std::string_view css = "",
             std::string_view anchor = "start") {
    out_ << "<text x=\"" << core::FormatFixed(x, 1) << "\" y=\"" << core::FormatFixed(y, 1)
         << "\" text-anchor=\"" << anchor << "\"" << (css.empty() ? "" : " class=\"") << css
         << (css.empty() ? "" : "\"") << ">" << Escape(text) << "</text>\n";
  }

  // At most `max` bytes and an ellipsis, cut between UTF-8 characters.
  static std::string Short(std::string text, std::size_t max) {
    if (text.size() <= max) return text;
    while (max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0) == 0x80) --max;
    return text.substr(0, max) + "…";
  }

  // A tick every 1, 2 or 5 times a power of ten seconds, about ten in all.
  void Axis(double y) {
    const double rough = run_.end_seconds / 10;
    const double power = std::pow(10.0, std::floor(std::log10(rough)));
    double step = power;
    for (double factor : {1.0, 2.0, 5.0, 10.0}) {
      step = factor * power;
      if (step >= rough) break;
    }
    for (double t = 0; t <= run_.end_seconds + step / 1000; t += step) {
      out_ << "<line class=\"axis\" x1=\"" << core::FormatFixed(X(t), 1) << "\" x2=\""
           << core::FormatFixed(X(t), 1) << "\" y1=\"" << core::FormatFixed(y, 1) << "\" y2=\""
           << core::FormatFixed(y + 5, 1) << "\"/>\n";
      Label(X(t), y + 16, core::FormatFixed(t, step < 1 ? (step < 0.1 ? 2 : 1) : 0) + " s", "",
            "middle");
    }
  }

  void Timeline() {
    out_ << "<h2>Timeline</h2>\n";
    std::ostringstream body;
    std::swap(out_, body);  // draw first: the height is known only at the end
    double y = 28;
    Axis(4);
    const double shade_top = y;

    Label(0, y + 12, "faults", "section");
    y += kRowHeight;
    if (faults_.empty()) {
      Label(12, y + 12, "none");
      y += kRowHeight;
    }
    for (const FaultWindow& fault : faults_) {
      const double end = fault.end.value_or(run_.end_seconds);
      Label(12, y + 12, Short(fault.id + " " + fault.kind + " " + fault.target, 28));
      std::string title = fault.description + " (" + core::FormatFixed(fault.start, 3) + " s to " +
                          (fault.end ? core::FormatFixed(end, 3) + " s)" : "the end)");
      if (fault.failed) title = fault.description + ": could not be applied: " + fault.error;
      Rect(X(fault.start), X(end), y + 3, kRowHeight - 6,
           fault.failed ? "faultfailed" : FaultClass(fault.kind), title);
      y += kRowHeight;
    }

    if (!violations_.empty()) {
      y += 6;
      Label(0, y + 12, "violations", "section");
      y += kRowHeight;
      for (const Violated& violation : violations_) {
        Label(12, y + 12, Short(violation.invariant, 28), "violated");
        if (violation.time) {
          Rect(X(*violation.time) - 3, X(*violation.time) + 3, y + 3, kRowHeight - 6, "exit",
               violation.invariant + " violated at " + core::FormatFixed(*violation.time, 3) +
                   " s: " + violation.summary);
        }
        y += kRowHeight;
      }
    }

    y += 6;
    Label(0, y + 12, "services", "section");
    y += kRowHeight;
    for (const auto& [name, life] : services_) {
      Label(12, y + 12, Short(name, 28));
      ServiceRow(life, y);
      y += kRowHeight;
    }

    if (run_.history != nullptr && !run_.history->empty()) {
      y += 6;
      y = Operations(y);
    } else if (!run_.history_problem.empty()) {
      y += 6;
      Label(0, y + 12, "operations: " + run_.history_problem, "section");
      y += kRowHeight;
    }
    const double bottom = y + 4;

    // Fault windows shade everything below their row, so the eye can line them up.
    for (const FaultWindow& fault : faults_) {
      if (fault.failed) continue;
      Rect(X(fault.start), X(fault.end.value_or(run_.end_seconds)), shade_top, bottom - shade_top,
           "shade " + std::string(FaultClass(fault.kind)), "", " pointer-events=\"none\"");
    }
    for (const Violated& violation : violations_) {
      if (!violation.time) continue;
      const double x = X(*violation.time);
      out_ << "<line class=\"vline\" x1=\"" << core::FormatFixed(x, 1) << "\" x2=\""
           << core::FormatFixed(x, 1) << "\" y1=\"" << core::FormatFixed(shade_top, 1) << "\" y2=\""
           << core::FormatFixed(bottom, 1) << "\"><title>"
           << Escape(violation.invariant + " violated at " + core::FormatFixed(*violation.time, 3) +
                     " s")
           << "</title></line>\n";
    }

    std::swap(out_, body);
    out_ << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kLabelWidth + kPlotWidth + 20
         << "\" height=\"" << core::FormatFixed(bottom + 4, 0) << "\" viewBox=\"0 0 "
         << kLabelWidth + kPlotWidth + 20 << " " << core::FormatFixed(bottom + 4, 0) << "\">\n"
         << body.str() << "</svg>\n";
  }

  void ServiceRow(const ServiceLife& life, double y) {
    std::optional<double> up;  // since when it has been running
    for (const ServiceLife::Mark& mark : life.marks) {
      if (mark.what == "started") {
        up = mark.time;
      } else if (mark.what == "exited" || mark.what == "stopped") {
        if (up) Rect(X(*up), X(mark.time), y + 7, 4, "life", "running");
        up.reset();
      }
    }
    if (up) Rect(X(*up), X(run_.end_seconds), y + 7, 4, "life", "running");
    for (const ServiceLife::Mark& mark : life.marks) {
      const std::string title = mark.what + " at " + core::FormatFixed(mark.time, 3) + " s" +
                                (mark.detail.empty() ? "" : " (" + mark.detail + ")");
      if (mark.what == "ready") {
        Rect(X(mark.time) - 1, X(mark.time) + 1, y + 2, kRowHeight - 4, "ready", title);
      } else if (mark.what == "exited" || mark.what == "restart_failed") {
        Rect(X(mark.time) - 2, X(mark.time) + 2, y + 2, kRowHeight - 4, "exit", title);
      }
    }
  }

  // Completions per interval, stacked by outcome; then, when few enough, every operation.
  double Operations(double y) {
    const History& history = *run_.history;
    Label(0, y + 12, "operations completed", "section");
    y += kRowHeight;
    std::vector<std::array<int, 3>> buckets(kRateBuckets, {0, 0, 0});
    std::size_t invokes = 0;
    std::map<std::int64_t, int> processes;  // process -> row
    for (const Op& op : history.ops()) {
      if (op.type == Op::Type::kInvoke) {
        ++invokes;
        processes.emplace(op.process, 0);
        continue;
      }
      const double t = static_cast<double>(op.time_ns) / 1e9;
      const int bucket =
          std::clamp(static_cast<int>(t / run_.end_seconds * kRateBuckets), 0, kRateBuckets - 1);
      ++buckets[bucket][op.type == Op::Type::kOk ? 0 : op.type == Op::Type::kFail ? 1 : 2];
    }
    int most = 1;
    for (const auto& bucket : buckets) most = std::max(most, bucket[0] + bucket[1] + bucket[2]);
    const double width = kPlotWidth / kRateBuckets;
    const double per_second = kRateBuckets / run_.end_seconds;
    Label(12, y + 12, "peak " + core::FormatFixed(most * per_second, 0) + "/s");
    for (int i = 0; i < kRateBuckets; ++i) {
      double base = y + kRateHeight;
      const char* css[] = {"ok", "failop", "info"};
      const char* names[] = {"ok", "failed", "unknown"};
      for (int outcome = 0; outcome < 3; ++outcome) {
        const int count = buckets[i][outcome];
        if (count == 0) continue;
        const double height = kRateHeight * count / most;
        base -= height;
        const double x = kLabelWidth + i * width;
        Rect(x, x + width - 0.5, base, height, css[outcome],
             std::to_string(count) + " " + names[outcome] + " from " +
                 core::FormatFixed(i / per_second, 2) + " s to " +
                 core::FormatFixed((i + 1) / per_second, 2) + " s");
      }
    }
    y += kRateHeight + 8;

    if (invokes > kMaxDrawnOps || processes.size() > static_cast<std::size_t>(kMaxProcessRows)) {
      Label(0, y + 12,
            std::to_string(invokes) + " operations by " + std::to_string(processes.size()) +
                " processes: too many to draw one by one (see history.jsonl)",
            "section");
      return y + kRowHeight;
    }
    Label(0, y + 12, "operations by process", "section");
    y += kRowHeight;
    int row = 0;
    for (auto& [process, index] : processes) {
      index = row++;
      Label(12, y + index * kRowHeight + 12, "process " + std::to_string(process));
    }
    std::optional<std::uint64_t> evidence;
    for (const Violated& violation : violations_) {
      if (violation.op_index && *violation.op_index < history.size()) {
        evidence = violation.op_index;
        break;
      }
    }
    for (const Op& op : history.ops()) {
      if (op.type != Op::Type::kInvoke) continue;
      const auto pair = history.PairOf(op.index);
      const Op::Type outcome = history.OutcomeOf(op.index);
      const double start = static_cast<double>(op.time_ns) / 1e9;
      const double end =
          pair ? static_cast<double>(history[*pair].time_ns) / 1e9 : run_.end_seconds;
      const char* css = outcome == Op::Type::kOk     ? "ok"
                        : outcome == Op::Type::kFail ? "failop"
                                                     : "info";
      const double row_y = y + processes[op.process] * kRowHeight + 4;
      std::string title = DescribeOp(op) + ": " + std::string(TypeName(outcome)) + ", " +
                          core::FormatFixed(start, 3) + " s to " + core::FormatFixed(end, 3) + " s";
      const bool is_evidence = evidence && (*evidence == op.index || (pair && *evidence == *pair));
      if (is_evidence) title = "first evidence of the violation: " + title;
      Rect(X(start), X(end), row_y, kRowHeight - 8, css, title);
      if (is_evidence) Rect(X(start) - 2, X(end) + 2, row_y - 2, kRowHeight - 4, "evidence", "");
    }
    return y + static_cast<double>(processes.size()) * kRowHeight;
  }

  static bool IsDecision(std::string_view name) {
    return name == "decision" || name == "decisions_aggregated";
  }

  // What each fault decided, one row per fault, target and action; the lines themselves
  // are in events.jsonl.
  void Decisions() {
    struct Row {
      std::string fault, kind, target, action;
      double first = 0, last = 0;
      std::uint64_t count = 0;
    };
    std::map<std::tuple<std::string, std::string, std::string>, Row> rows;
    std::uint64_t lost = 0;
    for (const bj::object& event : run_.events) {
      const std::string name = Text(event, "event");
      if (name == "decisions_lost") lost += static_cast<std::uint64_t>(Number(event, "count"));
      if (!IsDecision(name)) continue;
      Row& row = rows[{Text(event, "fault"), Text(event, "target"), Text(event, "action")}];
      const double time = Number(event, "time");
      if (row.count == 0) {
        row = {Text(event, "fault"),
               Text(event, "kind"),
               Text(event, "target"),
               Text(event, "action"),
               time,
               time,
               0};
      }
      row.first = std::min(row.first, time);
      row.last = std::max(row.last, time);
      row.count += name == "decision" ? 1 : static_cast<std::uint64_t>(Number(event, "count"));
    }
    if (rows.empty() && lost == 0) return;
    std::vector<const Row*> ordered;
    for (const auto& [key, row] : rows) ordered.push_back(&row);
    std::sort(ordered.begin(), ordered.end(),
              [](const Row* a, const Row* b) { return a->first < b->first; });
    out_ << "<h2>Decisions</h2>\n";
    if (lost > 0) {
      out_ << "<p class=\"note\">" << lost
           << " decision(s) were overwritten in a shim's table before they were read.</p>\n";
    }
    out_ << "<table>\n<tr><th>fault</th><th>kind</th><th>target</th><th>action</th>"
            "<th>decisions</th><th>first (s)</th><th>last (s)</th></tr>\n";
    for (const Row* row : ordered) {
      out_ << "<tr><td>" << Escape(row->fault.empty() ? "(none)" : row->fault) << "</td><td>"
           << Escape(row->kind) << "</td><td>" << Escape(row->target) << "</td><td>"
           << Escape(row->action) << "</td><td>" << row->count << "</td><td>"
           << core::FormatFixed(row->first, 3) << "</td><td>" << core::FormatFixed(row->last, 3)
           << "</td></tr>\n";
    }
    out_ << "</table>\n";
  }

  void Events() {
    out_ << "<h2>Events</h2>\n";
    if (run_.unreadable_events > 0) {
      out_ << "<p class=\"note\">" << run_.unreadable_events
           << " line(s) of events.jsonl could not be read and are left out.</p>\n";
    }
    out_ << "<table>\n<tr><th>time (s)</th><th>event</th><th>details</th></tr>\n";
    const auto rows = static_cast<std::size_t>(
        std::count_if(run_.events.begin(), run_.events.end(),
                      [](const bj::object& event) { return !IsDecision(Text(event, "event")); }));
    std::size_t shown = 0;
    for (const bj::object& event : run_.events) {
      if (IsDecision(Text(event, "event"))) continue;  // summed up under Decisions
      if (++shown > kMaxEventRows) {
        out_ << "<tr><td></td><td colspan=\"2\" class=\"note\">" << rows - kMaxEventRows
             << " more in events.jsonl</td></tr>\n";
        break;
      }
      const std::string name = Text(event, "event");
      std::string details;
      for (const auto& [key, value] : event) {
        if (key == "time" || key == "event") continue;
        if (!details.empty()) details += "  ";
        details += std::string(key) + "=" +
                   (value.is_string() ? std::string(value.as_string()) : bj::serialize(value));
      }
      const bool bad = name == "invariant_violated" || name == "fault_failed" ||
                       name == "service_restart_failed" ||
                       (name == "service_exited" && Text(event, "code") != "0");
      out_ << "<tr" << (bad ? " class=\"bad\"" : "") << "><td>"
           << core::FormatFixed(Number(event, "time"), 3) << "</td><td>" << Escape(name)
           << "</td><td>" << Escape(details) << "</td></tr>\n";
    }
    out_ << "</table>\n";
  }

  void Files() {
    out_ << "<h2>Files</h2>\n<p>";
    for (const char* name : {"result.json", "events.jsonl", "history.jsonl", "metrics.prom",
                             "spec.yaml", "spec.source.yaml"}) {
      if (!fs::exists(fs::path(run_.dir) / name)) continue;
      out_ << "<a href=\"" << name << "\">" << name << "</a> ";
    }
    for (const std::string& log : run_.logs) {
      out_ << "<a href=\"logs/" << Escape(log) << "\">logs/" << Escape(log) << "</a> ";
    }
    out_ << "</p>\n";
  }

  const RunRecord& run_;
  std::ostringstream out_;
  std::vector<FaultWindow> faults_;
  std::map<std::string, ServiceLife> services_;
  std::vector<Violated> violations_;
  std::map<std::string, std::string> evidence_;  // invariant -> its evidence as JSON
};

core::Result<RunRecord> ReadRun(const std::string& run_dir) {
  RunRecord run;
  run.dir = run_dir;
  auto events = ReadRunEvents(run_dir);
  if (!events) return events.error();
  run.unreadable_events = events->unreadable;
  run.events = std::move(events->events);
  for (const bj::object& event : run.events) {
    run.end_seconds = std::max(run.end_seconds, Number(event, "time"));
  }
  if (const auto text = ReadRunFile(run_dir, "result.json")) {
    boost::system::error_code ec;
    bj::value value = bj::parse(*text, ec);
    if (!ec && value.is_object()) run.result = std::move(value.as_object());
  }
  run.end_seconds = std::max(run.end_seconds, Number(run.result, "duration_seconds"));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(run_dir) / "logs", ec)) {
    if (entry.is_regular_file()) run.logs.push_back(entry.path().filename().string());
  }
  std::sort(run.logs.begin(), run.logs.end());
  return run;
}

core::Result<std::string> Write(RunRecord& run) {
  if (run.history != nullptr && !run.history->empty()) {
    const double last = static_cast<double>(run.history->ops().back().time_ns) / 1e9;
    run.end_seconds = std::max(run.end_seconds, last);
  }
  if (run.end_seconds <= 0) run.end_seconds = 1;
  if (auto ok = WriteRunFile(run.dir, "report.html", Page(run).Render()); !ok) return ok.error();
  const std::string path = (fs::path(run.dir) / "report.html").string();
  return path;
}

}  // namespace

core::Result<std::string> WriteReport(const std::string& run_dir) {
  auto run = ReadRun(run_dir);
  if (!run) return run.error();
  std::optional<History> history;
  const fs::path history_path = fs::path(run_dir) / "history.jsonl";
  if (fs::exists(history_path)) {
    auto read = ReadHistory(history_path.string());
    if (read) {
      history = std::move(*read);
      run->history = &*history;
    } else {
      run->history_problem = read.message();
    }
  }
  return Write(*run);
}

core::Result<std::string> WriteReport(const std::string& run_dir, const History& history) {
  auto run = ReadRun(run_dir);
  if (!run) return run.error();
  run->history = &history;
  return Write(*run);
}

}  // namespace faultline::experiments
