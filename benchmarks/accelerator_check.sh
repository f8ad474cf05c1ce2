#!/usr/bin/env bash
# The accelerator check: at most ~8 minutes on a machine with a GPU and tfgen installed
# (pip install -e ".[gpu]"). Prints the machine, then -- only where TensorFlow with Keras 3
# imports -- its devices, the loss-scale overflow check on 2 replicas (two GPUs, or one split in
# two) and samples/s of digits-dcgan and fmnist-dcgan in float32, mixed_float16, mixed_bfloat16
# and float32 + XLA (1 vs N GPUs where there are several). Exit status 3: no usable TensorFlow.
#
#   bash benchmarks/accelerator_check.sh [OUT_DIR]     # JSON rows to OUT_DIR (default: $OUT or .)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-.}}
mkdir -p "$out"
py=${PYTHON:-python3}
start=$(date +%s)

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv 2>&1 \
  || echo "nvidia-smi: not found"
"$py" --version
"$py" -m pip list 2>/dev/null | grep -i -E '^(tensorflow|tensorflow-[a-z-]+|keras|jax|jaxlib|torch) ' \
  || echo "(no TensorFlow, Keras, JAX or PyTorch in pip list)"
if ! "$py" -c "import tensorflow, keras; assert int(keras.__version__.split('.')[0]) >= 3" 2>/dev/null; then
  echo "no usable TensorFlow with Keras 3 here: nothing to measure (pip install -e \".[gpu]\")"
  exit 3
fi
if ! "$py" -c "import tfgen.trainers" 2>/dev/null; then
  echo "tfgen is not installed in $py: pip install -e \".[gpu]\" first"
  exit 3
fi

echo "== devices"
timeout 60 "$py" benchmarks/accelerator_check.py devices
echo "== loss scale, an overflow on one of 2 replicas"
timeout 90 "$py" benchmarks/accelerator_check.py loss-scale
echo "== throughput"
timeout 330 "$py" benchmarks/accelerator_check.py throughput --seconds 10 \
  --out "$out/accelerator-throughput.json"
echo "accelerator check: finished in $(( $(date +%s) - start )) s"
