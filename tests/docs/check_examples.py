#!/usr/bin/env python3
"""Every YAML and JSON example in README.md and docs/ is checked by what reads it.

usage: check_examples.py FAULTLINE SOURCE_DIR

A fenced block is classified by what it is, and an example that fits no class fails, so a new
one cannot slip by unchecked:

- a spec (YAML with a top-level `name:`): `faultline validate`;
- a spec fragment (YAML whose top-level keys are spec sections): validated inside a small
  spec that defines the services, proxies and workload the docs' fragments refer to; the
  fragment's sections replace that spec's;
- a proxy config file (a YAML list of proxies): `faultline proxy --config`, its listen ports
  made free ones;
- a Prometheus config (`scrape_configs:`): `promtool check config`;
- history lines (JSON with "type" invoke/ok/fail/info): a run whose client prints them must
  take every one;
- a toxic (other JSON with "type"): POSTed to a running `faultline proxy` with
  `Prefer: handling=strict`, so a field it does not know is an error rather than a warning;
- a `curl -X POST|PATCH localhost:8474/... -d '...'` in any block: sent the same way.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

FAULTLINE, SOURCE = sys.argv[1], sys.argv[2]
DOCS = ["README.md"] + sorted(
    os.path.join("docs", f) for f in os.listdir(os.path.join(SOURCE, "docs")) if f.endswith(".md"))

SPEC_SECTIONS = {"services", "proxies", "workload", "faults", "invariants", "duration", "seed",
                 "metrics"}
# What the fragments in the docs refer to: each name a fragment uses is defined here.
CONTEXT = {
    "name": "name: doc-example\n",
    "duration": "duration: 10s\n",
    "services": ("services:\n"
                 "  store: ./kvstore --port {{port.store}}\n"
                 "  agent: {cmd: ./agent, inject: true}\n"
                 "  web: ./web --port {{port.web}}\n"),
    "proxies": "proxies:\n  store_a: {upstream: store}\n",
    "workload": "workload:\n  - {name: writers, client: ./client, history: true}\n",
}
HISTORY_TYPES = {"invoke", "ok", "fail", "info"}

failures = []
checked = {}
work = tempfile.mkdtemp(prefix="faultline-docs-")


def fail(where, what):
    failures.append(f"{where}: {what}")
    print(f"FAIL {where}: {what}", flush=True)


def count(kind):
    checked[kind] = checked.get(kind, 0) + 1


def blocks(path):
    """(line of the opening fence, language, body) for each fenced block."""
    lines = open(os.path.join(SOURCE, path), encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S*)", lines[i])
        if m:
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            yield i + 1, m.group(1), "\n".join(lines[i + 1:j]) + "\n"
            i = j
        i += 1


def write(name, text):
    path = os.path.join(work, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kwargs)


def top_level_keys(text):
    return [m.group(1) for m in re.finditer(r"^([A-Za-z_]+):", text, re.M)]


def validate_spec(where, text, context_lines=0):
    """`where` is the doc and the fence's line; messages name the doc's lines."""
    path = write("spec.yaml", text)
    result = run([FAULTLINE, "validate", path])
    if result.returncode != 0:
        doc, fence = where.rsplit(":", 1)
        output = re.sub(re.escape(path) + r":(\d+)",
                        lambda m: f"{doc}:{int(fence) + int(m.group(1)) - context_lines}",
                        result.stdout + result.stderr)
        fail(where, "faultline validate refused it:\n" + output +
             "the spec checked:\n" + text)


def check_yaml(where, text):
    if re.search(r"^- ", text, re.M) and not re.search(r"^[A-Za-z_]+:", text, re.M):
        count("proxy config")
        return check_proxy_config(where, text)
    keys = top_level_keys(text)
    if "scrape_configs" in keys:
        count("prometheus config")
        result = run(["promtool", "check", "config", write("prometheus.yml", text)])
        if result.returncode != 0:
            fail(where, "promtool refused it:\n" + result.stdout + result.stderr)
        return
    if "name" in keys:
        count("spec")
        return validate_spec(where, text)
    if keys and set(keys) <= SPEC_SECTIONS:
        count("spec fragment")
        context = "".join(part for key, part in CONTEXT.items() if key not in keys)
        return validate_spec(where, context + text, context.count("\n"))
    fail(where, "a YAML example that is neither a spec, a spec fragment (top-level keys "
         f"among {sorted(SPEC_SECTIONS)}), a proxy config nor a Prometheus config")


class Proxy:
    """A `faultline proxy` on a free port, stopped when done."""

    def __init__(self, *args):
        self.process = subprocess.Popen([FAULTLINE, "proxy", "--port", "0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self.output = ""
        self.url = None
        for line in self.process.stdout:
            self.output += line
            m = re.search(r"API on (http://\S+?),", line)
            if m:
                self.url = m.group(1)
                break

    def request(self, method, path, body=None):
        data = None if body is None else body.encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Prefer": "handling=strict"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def check_proxy_config(where, text):
    # Free ports rather than the example's, which may be taken here.
    text = re.sub(r"(listen: *[\w.]+):\d+", r"\1:0", text)
    proxy = Proxy("--config", write("proxies.yaml", text))
    if proxy.url is None:
        proxy.process.wait()
        return fail(where, "faultline proxy --config refused it:\n" + proxy.output)
    status, body = proxy.request("GET", "/proxies")
    proxy.stop()
    names = re.findall(r"^- name: (\S+)", text, re.M)
    created = json.loads(body) if status == 200 else {}
    if sorted(created) != sorted(names):
        fail(where, f"the proxies {names} are not the ones created: {status} {body}")


def json_values(text):
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass
    values = []
    for line in text.splitlines():
        if line.strip():
            values.append(json.loads(line))  # a line that is not JSON fails with its text
    return values


def check_history(where, lines):
    count("history lines")
    write("history.jsonl", "".join(json.dumps(v) + "\n" for v in lines))
    spec = write("history-spec.yaml",
                 "name: doc-history\n"
                 "workload:\n"
                 f"  - {{client: cat {os.path.join(work, 'history.jsonl')}, history: true}}\n")
    runs = os.path.join(work, "runs")
    result = run([FAULTLINE, "run", spec, "--runs-dir", runs, "--seed", "1"])
    results = [os.path.join(d, "result.json") for d, _, files in os.walk(runs)
               if "result.json" in files]
    if not results:
        return fail(where, "the run left no result.json:\n" + result.stdout + result.stderr)
    ops = json.load(open(results[-1]))["ops"]
    if ops.get("rejected_lines", 0) != 0 or ops.get("total") != len(lines):
        fail(where, f"the runner did not take every line: {ops}\n" + result.stdout + result.stderr)
    shutil.rmtree(runs)


# The fields each kind of decision line carries (docs/experiments.md, "Decisions").
DECISION_FIELDS = {
    "proxy": {"fault", "kind", "family", "target", "action", "connection", "direction"},
    "shim": {"fault", "kind", "family", "target", "action", "call", "pid", "tid", "hit",
             "value"},
    "process": {"fault", "kind", "family", "target", "action", "process"},
}


def check_events(where, lines):
    """events.jsonl lines: a time first, an event name, and a decision's own fields."""
    count("events.jsonl lines")
    for line in lines:
        if list(line)[:2] != ["time", "event"]:
            return fail(where, f"an event line starts with time and event: {line}")
        if line["event"] == "decision":
            family = line.get("family")
            if family not in DECISION_FIELDS:
                return fail(where, f"a decision of no family: {line}")
            missing = DECISION_FIELDS[family] - set(line)
            if missing:
                return fail(where, f"a {family} decision without {sorted(missing)}: {line}")


def send(proxy, where, method, path, body):
    """Sends an API body from the docs; proxies are made anew and toxics removed after."""
    count(f"{method} {re.sub(r'/proxies/[^/]+', '/proxies/NAME', path)}")
    value = json.loads(body)
    if path == "/proxies" and method == "POST":
        proxy.request("DELETE", "/proxies/" + value.get("name", ""))
        if value.get("listen"):
            value["listen"] = re.sub(r":\d+$", ":0", value["listen"])
    status, answer = proxy.request(method, path, json.dumps(value))
    if status not in (200, 201):
        return fail(where, f"{method} {path} {body.strip()} was refused: {status} {answer}")
    if path.endswith("/toxics") and method == "POST":
        proxy.request("DELETE", f"{path}/{json.loads(answer)['name']}")


CURL = re.compile(r"curl -X (POST|PATCH) localhost:8474(/\S+) -d '([^']*)'", re.S)


def main():
    proxy = Proxy()
    if proxy.url is None:
        print("faultline proxy did not start:\n" + proxy.output)
        return 1
    # The proxies the docs' API examples add toxics to.
    for name in ("db", "doc"):
        proxy.request("POST", "/proxies",
                      json.dumps({"name": name, "listen": "127.0.0.1:0",
                                  "upstream": "127.0.0.1:1"}))
    try:
        for doc in DOCS:
            for line, lang, body in blocks(doc):
                where = f"{doc}:{line}"
                for m in CURL.finditer(body):
                    send(proxy, where, m.group(1), m.group(2), m.group(3))
                stripped = body.lstrip()
                if lang == "yaml":
                    check_yaml(where, body)
                elif lang == "json" or (lang == "" and stripped.startswith("{")):
                    try:
                        values = json_values(body)
                    except json.JSONDecodeError as error:
                        fail(where, f"not JSON: {error}")
                        continue
                    if all(v.get("type") in HISTORY_TYPES for v in values):
                        check_history(where, values)
                    elif all("event" in v for v in values):
                        check_events(where, values)
                    elif all("type" in v for v in values):
                        for v in values:
                            send(proxy, where, "POST", "/proxies/doc/toxics", json.dumps(v))
                    else:
                        fail(where, "a JSON example that is neither history lines nor toxics")
                elif lang in ("yml", "jsonl", "json5"):
                    fail(where, f"an example in '{lang}': write it as yaml or json to have it checked")
    finally:
        proxy.stop()
        shutil.rmtree(work)
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(checked.items()))
    print(f"checked: {summary}")
    if failures:
        print(f"{len(failures)} example(s) do not hold")
        return 1
    print("docs examples: passed")
    return 0


sys.exit(main())
