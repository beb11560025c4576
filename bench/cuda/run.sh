#!/usr/bin/env bash
# The GPU session's one script (the device tool: `run` with `bash bench/cuda/run.sh`): builds the
# engine with the CUDA backend by plain CMake (no Node there), runs every op against the CPU
# (test_backend_ops), then decoding throughput beside PyTorch eager, and writes JSON under $OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-bench/cuda/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>&1
cmake -S . -B build-cuda -DRLCD_CUDA=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 > "$OUT/cmake.log" 2>&1
cmake --build build-cuda --target test_backend_ops bench_decode -j 16 >> "$OUT/cmake.log" 2>&1 || { tail -40 "$OUT/cmake.log"; exit 1; }
build-cuda/test_backend_ops > "$OUT/test_backend_ops.txt" 2>&1; echo "test_backend_ops rc=$?" | tee -a "$OUT/test_backend_ops.txt"
tail -3 "$OUT/test_backend_ops.txt"
timeout 240 build-cuda/bench_decode cuda 128 > "$OUT/rlcd_decode.json" 2>&1; cat "$OUT/rlcd_decode.json"
timeout 240 python3 bench/cuda/torch_decode.py 128 > "$OUT/torch_decode.json" 2>&1; cat "$OUT/torch_decode.json"
