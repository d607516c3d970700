#!/usr/bin/env bash
# The runner's soak: one `faultline run --runs N --keep-going` of the web example, with its
# metrics pushed to a real Pushgateway that a real Prometheus scrapes, while the runner's
# memory and open descriptors are sampled. Then: every run directory complete, no process of
# any run left, Prometheus holding one faultline_run_info series per run, and the first
# failing run replayed to the same verdict.
#
#   bench/soak.sh BUILD_DIR [RUNS]      (./dev soak [RUNS]; default 50 runs, ~6 min)
set -euo pipefail

build=$(cd "$1" && pwd)
runs=${2:-50}
root=$(cd "$(dirname "$0")/.." && pwd)
faultline="$build/cli/faultline"
work=$(mktemp -d /tmp/faultline-soak.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() {
  for _ in $(seq 200); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done
  echo "soak: $1 never answered" >&2
  exit 3
}

gateway_port=$(free_port)
prometheus_port=$(free_port)
# In memory only: Debian's default persists to a file every gateway would share.
prometheus-pushgateway --persistence.file= --web.listen-address="127.0.0.1:$gateway_port" >"$work/pushgateway.log" 2>&1 &
pids+=($!)
cat >"$work/prometheus.yml" <<EOF
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{targets: ["127.0.0.1:$gateway_port"]}]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prometheus_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$gateway_port/-/ready"
wait_http "http://127.0.0.1:$prometheus_port/-/ready"

echo "soak: $runs runs of experiments/examples/web/web.yaml, pushed to a Pushgateway that Prometheus scrapes"
cd "$root/experiments/examples/web"
start=$(date +%s%N)
"$faultline" run web.yaml --runs "$runs" --keep-going --seed 1 --runs-dir "$work/runs" -q \
  --pushgateway "http://127.0.0.1:$gateway_port" >"$work/run.out" 2>&1 &
runner=$!
# Samples of the runner: resident memory (kB) and open descriptors, once a second.
samples="$work/samples"
while kill -0 "$runner" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$runner/status" 2>/dev/null || true)
  fds=$(ls "/proc/$runner/fd" 2>/dev/null | wc -l || true)
  [ -n "$rss" ] && echo "$rss $fds" >>"$samples"
  sleep 1
done
wait "$runner" && code=0 || code=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
grep -E '^run [0-9]+/' "$work/run.out" | tail -3
tail -1 "$work/run.out"

python3 - "$work" "$runs" "$code" "$elapsed" "$prometheus_port" "$faultline" <<'EOF'
import json, os, statistics, subprocess, sys, time, urllib.parse, urllib.request
work, runs, code, elapsed, prom_port, faultline = sys.argv[1:]
runs = int(runs)
root = os.path.join(work, "runs", "web-availability")
dirs = sorted(os.path.join(root, d) for d in os.listdir(root))
verdicts, durations, pids, incomplete = [], [], [], 0
for d in dirs:
    needed = ["result.json", "events.jsonl", "history.jsonl", "metrics.prom", "report.html"]
    if not all(os.path.exists(os.path.join(d, f)) for f in needed):
        incomplete += 1
        continue
    result = json.load(open(os.path.join(d, "result.json")))
    verdicts.append(result["verdict"])
    durations.append(result["duration_seconds"])
    for line in open(os.path.join(d, "events.jsonl")):
        event = json.loads(line)
        if "pid" in event:
            pids.append(event["pid"])
alive = [p for p in pids if os.path.exists(f"/proc/{p}")]
# The last sample may catch the runner exiting, its descriptors already closed.
samples = [tuple(map(int, l.split())) for l in open(os.path.join(work, "samples"))
           if len(l.split()) == 2 and int(l.split()[1]) > 0]

def query(q):
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    data = json.load(urllib.request.urlopen(url))["data"]["result"]
    return float(data[0]["value"][1]) if data else 0.0

series = 0
for _ in range(30):  # until Prometheus has scraped the last push
    series = query('count(faultline_run_info{experiment="web-availability"})')
    if series >= len(dirs): break
    time.sleep(1)
passed_series = query('sum(faultline_run_passed{experiment="web-availability"})')

print(f"runs: {len(dirs)} run directories of {runs}, {incomplete} incomplete; exit code {code}")
print(f"verdicts: {verdicts.count('pass')} pass, {verdicts.count('fail')} fail, {verdicts.count('error')} error")
print(f"wall time: {int(elapsed) / 1000:.1f} s in all; run length median {statistics.median(durations):.2f} s, max {max(durations):.2f} s")
if samples:
    # Through the soak: a leak shows as a climb from one quarter to the next.
    quarters = [samples[min(len(samples) - 1, len(samples) * q // 4)][0] / 1024 for q in range(5)]
    print("runner RSS at 0/25/50/75/100% of the soak: " +
          " / ".join(f"{mib:.1f}" for mib in quarters) +
          f" MiB (max {max(s[0] for s in samples) / 1024:.1f})")
    print(f"runner descriptors: first {samples[0][1]}, last {samples[-1][1]}, max {max(s[1] for s in samples)}")
print(f"processes started by the runs: {len(pids)}, alive now: {len(alive)}")
print(f"prometheus: {series:.0f} faultline_run_info series, {passed_series:.0f} runs with faultline_run_passed 1")
failing = [d for d, v in zip(dirs, verdicts) if v == "fail"]
if failing:
    replay = subprocess.run([faultline, "replay", failing[0], "-q"], capture_output=True, text=True)
    print(f"replay of {os.path.basename(failing[0])}: exit {replay.returncode} (1 = violated again)")
problems = (incomplete + len(alive) + (series != len(dirs)) + (len(dirs) != runs) +
            (passed_series != verdicts.count("pass")))
sys.exit(1 if problems else 0)
EOF
