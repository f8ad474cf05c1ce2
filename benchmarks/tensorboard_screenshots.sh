#!/usr/bin/env bash
# Screenshots of TensorBoard's pages for a directory of tfgen runs, taken with headless Chromium
# (Debian's `chromium`), to look at what a user sees: the Time Series page (scalars and images),
# HParams (a `tfgen tune` directory) and the Projector (a VAE run); PAGES="text" for the Text
# tab of a text run (samples, reconstructions, homotopies).
#
#   benchmarks/tensorboard_screenshots.sh LOGDIR OUTDIR [PORT]
#
# e.g. after `tfgen train --preset digits-vae --run-dir runs/vae` and
# `tfgen tune --preset ring8-gan --max-trials 2 --set epochs=2 --dir runs/tune`:
#   benchmarks/tensorboard_screenshots.sh runs shots
set -euo pipefail
logdir=${1:?usage: $0 LOGDIR OUTDIR [PORT]}
out=${2:?usage: $0 LOGDIR OUTDIR [PORT]}
port=${3:-6123}
python=${PYTHON:-python3}
mkdir -p "$out"
"$python" -m tensorboard.main --logdir "$logdir" --host 127.0.0.1 --port "$port" \
  >"$out/tensorboard.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$port/data/plugins_listing" >/dev/null && break
  sleep 0.5
done
for page in ${PAGES:-timeseries hparams projector}; do
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1600,${HEIGHT:-1300} \
    --virtual-time-budget=25000 --screenshot="$out/$page.png" \
    "http://127.0.0.1:$port/#$page" >/dev/null 2>&1
  echo "$out/$page.png"
done
