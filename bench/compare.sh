#!/bin/sh
# bench/compare.sh: training and inference throughput of the six seed models,
# trainyard (bin/trainyard bench, the real nn.Build of each preset) against
# PyTorch (bench/pytorch_baseline.py), run alternately on this machine, same
# batch and threads. Prints a Markdown table.
#
#   make bench-compare                 # or: bench/compare.sh
#   ROUNDS=3 STEPS=30 MODELS="nn1 cnn2" bench/compare.sh
#
# Each tool runs ROUNDS times per model, alternating, and the best round of
# each counts (the least disturbed by other load). PYTHON defaults to
# Debian's /usr/bin/python3, which has python3-torch.
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/trainyard}
PYTHON=${PYTHON:-/usr/bin/python3}
ROUNDS=${ROUNDS:-2}
STEPS=${STEPS:-20}
MODELS=${MODELS:-"nn1 nn2 cnn1 cnn2 captcha1 captcha2"}

[ -x "$BIN" ] || { echo "compare.sh: $BIN is missing: run make build" >&2; exit 1; }
"$PYTHON" -c 'import torch' 2>/dev/null || { echo "compare.sh: $PYTHON has no torch: apt-get install -y python3-torch" >&2; exit 1; }
# Debian's torch calls whatever libblas.so.3 points at; the reference BLAS
# makes PyTorch's dense layers many times slower than it should be.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
case "$blas" in
*openblas*) ;;
*) echo "compare.sh: warning: libblas.so.3 is $blas, not OpenBLAS: apt-get install -y libopenblas0-pthread for a fair baseline" >&2 ;;
esac
export COMPARE_BLAS="$blas"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for m in $MODELS; do
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		echo "compare.sh: $m round $r" >&2
		"$BIN" bench --model "$m" --steps "$STEPS" --json >>"$out/$m.trainyard"
		"$PYTHON" bench/pytorch_baseline.py --model "$m" --steps "$STEPS" --json >>"$out/$m.pytorch"
		r=$((r + 1))
	done
done

"$PYTHON" - "$out" $MODELS <<'PY'
import json, os, platform, sys

out, models = sys.argv[1], sys.argv[2:]

def best(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    top = max(rows, key=lambda r: r["train_samples_per_s"])
    top["infer_samples_per_s"] = max(r["infer_samples_per_s"] for r in rows)
    top["peak_rss_bytes"] = min(r["peak_rss_bytes"] for r in rows)
    return top

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
load = open("/proc/loadavg").read().split()[0]
print(f"{os.cpu_count()} threads, {cpu}, BLAS {os.environ.get('COMPARE_BLAS')}, load average {load} at the end; "
      "samples/s, best of the rounds; memory is peak RSS (VmHWM)\n")
print("| model | batch | trainyard train/s | PyTorch train/s | train ratio | trainyard infer/s | PyTorch infer/s | infer ratio | trainyard MiB | PyTorch MiB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for m in models:
    t, p = best(os.path.join(out, m + ".trainyard")), best(os.path.join(out, m + ".pytorch"))
    print(f"| {m} | {t['batch']} | {t['train_samples_per_s']:.0f} | {p['train_samples_per_s']:.0f} | "
          f"{t['train_samples_per_s'] / p['train_samples_per_s']:.2f}x | {t['infer_samples_per_s']:.0f} | "
          f"{p['infer_samples_per_s']:.0f} | {t['infer_samples_per_s'] / p['infer_samples_per_s']:.2f}x | "
          f"{t['peak_rss_bytes'] / 2**20:.0f} | {p['peak_rss_bytes'] / 2**20:.0f} |")
PY
