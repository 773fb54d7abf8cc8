#!/usr/bin/env bash
# The matched variant: augment a small real corpus TOWARD a target: profile the target's
# audio, fit augment.yaml to it (synthaudio match), augment KALDI_DIR with the fitted config,
# then compare the result with the target.
#
#   recipes/augment_real/match.sh TARGET KALDI_DIR OUT
#
# TARGET: a Kaldi data directory, a folder of audio files or a synthaudio corpus (no
# transcripts needed). Settings from the environment: COPIES (3), JOBS (number of CPUs),
# SEED (0), WIDEN (0.25), CONFIG (augment.yaml beside this script: the base of the fit),
# SKIP (measurements to leave out, e.g. quality,voices: faster).
# The profiles and the matched config are written to OUT.match/.
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 TARGET KALDI_DIR OUT" >&2
  exit 2
fi
target=$1
kaldi_dir=$2
out=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
copies=${COPIES:-3}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 1)}
seed=${SEED:-0}
widen=${WIDEN:-0.25}
config=${CONFIG:-$here/augment.yaml}
work=$out.match
mkdir -p "$work"
skip=()
[ -n "${SKIP:-}" ] && skip=(--skip "$SKIP")

synthaudio profile "$target" -o "$work/target_profile.json" -j "$jobs" "${skip[@]}" --quiet
synthaudio match "$work/target_profile.json" "$config" -o "$work/matched.yaml" --widen "$widen"
synthaudio augment "$kaldi_dir" -o "$out" --config "$work/matched.yaml" --copies "$copies" \
  -j "$jobs" --seed "$seed" --quiet
synthaudio validate "$out"
synthaudio profile "$kaldi_dir" -o "$work/input_profile.json" -j "$jobs" "${skip[@]}" --quiet
synthaudio profile "$out" -o "$work/augmented_profile.json" -j "$jobs" "${skip[@]}" --quiet
echo "== distance to the target: the input as it was"
synthaudio compare "$work/target_profile.json" "$work/input_profile.json" | tail -1
echo "== distance to the target: augmented toward it"
synthaudio compare "$work/target_profile.json" "$work/augmented_profile.json" | tail -1
