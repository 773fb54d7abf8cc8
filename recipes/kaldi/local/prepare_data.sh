#!/usr/bin/env bash
# Kaldi data preparation: generate a synthaudio corpus and put validated data directories
# at data/{train,dev,test} (wav.scp with absolute paths). Run from the recipe folder
# (egs/<name>/s5, with steps/ and utils/ linked from egs/wsj/s5):
#   local/prepare_data.sh [--config corpus.yaml] [--corpus-dir corpus] [--nj 4] [--limit N]
set -euo pipefail

config=              # corpus definition; default: synthaudio's digits corpus
corpus_dir=corpus    # where the corpus (audio, metadata.jsonl) is generated
nj=4                 # generation processes
limit=               # render only the first N utterances (smoke tests)
seed=                # override the config's seed
data_dir=data        # where train/dev/test go

echo "$0 $*"
if [ -f utils/parse_options.sh ]; then
    . utils/parse_options.sh
else  # outside a Kaldi recipe: the same "--name value" convention
    while [ $# -gt 0 ]; do
        case "$1" in
            --*) name=${1#--}; name=${name//-/_}
                 if [ $# -lt 2 ] || [ -z "${!name+set}" ]; then
                     echo "$0: invalid option $1" >&2; exit 2
                 fi
                 printf -v "${name}" '%s' "$2"; shift 2 ;;
            *) break ;;
        esac
    done
fi
if [ $# -ne 0 ]; then
    echo "$0: no positional arguments are accepted" >&2
    exit 2
fi
if [ -z "${config}" ]; then
    config=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/corpora/digits/corpus.yaml
fi
[ -f "${config}" ] || { echo "$0: corpus config ${config} not found (give --config)" >&2; exit 2; }
command -v synthaudio >/dev/null || { echo "$0: synthaudio is not on PATH" >&2; exit 2; }

synthaudio generate "${config}" -o "${corpus_dir}" -j "${nj}" --quiet \
    ${limit:+--limit "${limit}"} ${seed:+--seed "${seed}"}
# Absolute paths: the recipe reads wav.scp from its own folder, not from the corpus.
synthaudio export "${corpus_dir}" --format kaldi --absolute-paths
# The checks of utils/validate_data_dir.sh --no-feats, and the audio against the metadata.
synthaudio validate "${corpus_dir}"

for split in train dev test; do
    if [ ! -s "${corpus_dir}/data/${split}/wav.scp" ]; then
        echo "$0: no ${split} split in ${corpus_dir} (too few speakers, or --limit too small)" >&2
        exit 1
    fi
    rm -rf "${data_dir:?}/${split}"
    mkdir -p "${data_dir}/${split}"
    cp "${corpus_dir}/data/${split}"/* "${data_dir}/${split}/"
    if [ -x utils/validate_data_dir.sh ]; then
        utils/validate_data_dir.sh --no-feats "${data_dir}/${split}"
    fi
done
echo "$0: prepared ${data_dir}/train ${data_dir}/dev ${data_dir}/test from ${corpus_dir}"
