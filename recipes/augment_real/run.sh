#!/usr/bin/env bash
# Augment an existing real Kaldi data directory (like Kaldi's reverberate_data_dir.py),
# then export Kaldi, NeMo and lhotse manifests and validate the result.
#
#   recipes/augment_real/run.sh KALDI_DIR OUT
#
# Settings from the environment: COPIES (3), JOBS (number of CPUs), SEED (0),
# CONFIG (augment.yaml beside this script).
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 KALDI_DIR OUT" >&2
  exit 2
fi
kaldi_dir=$1
out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
copies=${COPIES:-3}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 1)}
seed=${SEED:-0}
config=${CONFIG:-$here/augment.yaml}

synthaudio augment "$kaldi_dir" -o "$out" --config "$config" --copies "$copies" \
  -j "$jobs" --seed "$seed" --quiet
synthaudio export "$out" --format kaldi,nemo,lhotse
synthaudio validate "$out"
echo "Kaldi/ESPnet: $out/data/train (run Kaldi from $out, or re-export with --absolute-paths)"
echo "NeMo: $out/manifests/nemo/train.json   lhotse: $out/manifests/lhotse/cuts_train.jsonl.gz"
