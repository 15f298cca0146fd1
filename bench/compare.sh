#!/bin/sh
# bench/compare.sh: training and inference throughput of the six seed models,
# trainyard (bin/trainyard bench, the real nn.Build of each preset) against
# PyTorch (bench/pytorch_baseline.py) in both of its layouts (default NCHW and
# channels_last), run alternately on this machine, same batch and threads.
# Prints a Markdown table; the ratios are against the faster PyTorch layout.
#
#   make bench-compare                 # or: bench/compare.sh
#   ROUNDS=3 STEPS=30 MODELS="nn1 cnn2" bench/compare.sh
#
# Each tool runs ROUNDS times per model, alternating, and the median of the
# rounds counts (per measure: train/s, infer/s, peak memory). PYTHON defaults to
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
		"$PYTHON" bench/pytorch_baseline.py --model "$m" --steps "$STEPS" --layout channels_last --json >>"$out/$m.pytorch_cl"
		r=$((r + 1))
	done
done

"$PYTHON" - "$out" $MODELS <<'PY'
import json, os, platform, statistics, sys

out, models = sys.argv[1], sys.argv[2:]

def median(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    top = dict(rows[0])
    for k in ("train_samples_per_s", "infer_samples_per_s", "peak_rss_bytes", "gflops", "peak_fraction"):
        if k in top:
            top[k] = statistics.median(r[k] for r in rows)
    return top

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
load = open("/proc/loadavg").read().split()[0]
print(f"{os.cpu_count()} threads, {cpu}, BLAS {os.environ.get('COMPARE_BLAS')}, load average {load} at the end; "
      "samples/s, medians of the rounds; memory is peak RSS (VmHWM); ratios against the faster PyTorch layout "
      "(train/s decides which, its memory is the one compared)\n")
print("| model | batch | trainyard train/s | PyTorch default | PyTorch channels_last | train ratio | "
      "trainyard infer/s | PyTorch infer/s (faster layout) | infer ratio | trainyard MiB | PyTorch MiB | GFLOP/s | peak fraction |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for m in models:
    t = median(os.path.join(out, m + ".trainyard"))
    d, c = median(os.path.join(out, m + ".pytorch")), median(os.path.join(out, m + ".pytorch_cl"))
    p = max(d, c, key=lambda r: r["train_samples_per_s"])
    infer = max(d["infer_samples_per_s"], c["infer_samples_per_s"])
    gflops = f"{t['gflops']:.0f}" if "gflops" in t else "-"
    frac = f"{t['peak_fraction']:.0%}" if "peak_fraction" in t else "-"
    print(f"| {m} | {t['batch']} | {t['train_samples_per_s']:.0f} | {d['train_samples_per_s']:.0f} | "
          f"{c['train_samples_per_s']:.0f} | {t['train_samples_per_s'] / p['train_samples_per_s']:.2f}x | "
          f"{t['infer_samples_per_s']:.0f} | {infer:.0f} | {t['infer_samples_per_s'] / infer:.2f}x | "
          f"{t['peak_rss_bytes'] / 2**20:.0f} | {p['peak_rss_bytes'] / 2**20:.0f} | {gflops} | {frac} |")
PY
