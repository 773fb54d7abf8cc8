#!/usr/bin/env bash
# The Debian packages synthaudio's tests use, installed when missing (needs root and apt-get;
# elsewhere it lists what is missing and exits 1). The one list: .ci/run and the README's
# test command call this script.
#   ffmpeg     FFmpeg's libraries for torchcodec (datasets decodes audio with it), codecs
#   sox        Kaldi's pipe entries in tests, and SPHERE files for the segments tests
#   chromium   the report's browser test
#   flite, festival + voices: the Flite and Festival TTS engines
#   build-essential: a C/C++ compiler for what pip builds from source (ttspico, pyworld,
#              webrtcvad)
#   portaudio19-dev: the headers pyaudio builds against (EfficientWord-Net requires it)
set -euo pipefail
packages=(ffmpeg sox chromium flite libflite1 flite1-dev festival festvox-kallpc16k
          festvox-kdlpc16k festvox-us-slt-hts build-essential portaudio19-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: missing ${missing[*]}; install them with your package manager" >&2
  exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
