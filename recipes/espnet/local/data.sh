#!/usr/bin/env bash
# ESPnet egs2 data preparation: generate a synthaudio corpus and put its Kaldi-style data
# directories at data/{train,dev,test} (wav.scp with absolute paths), ready for asr.sh.
# Run from the recipe folder (egs2/<name>/asr1), as asr.sh's stage 1 does:
#   local/data.sh --config /path/to/corpus.yaml [--corpus_dir downloads/synthaudio] [--nj 4]
# or through asr.sh: ./asr.sh ... --local_data_opts "--config /path/to/corpus.yaml --nj 4"
set -euo pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
SECONDS=0

stage=1
stop_stage=100
config=                          # corpus definition; default: synthaudio's digits corpus
corpus_dir=downloads/synthaudio  # where the corpus (audio, metadata.jsonl) is generated
nj=4                             # generation processes
limit=                           # render only the first N utterances (smoke tests)
seed=                            # override the config's seed
data_dir=data                    # where train/dev/test go

log "$0 $*"
if [ -f utils/parse_options.sh ]; then
    . utils/parse_options.sh
else  # outside an ESPnet recipe: the same "--name value" convention
    while [ $# -gt 0 ]; do
        case "$1" in
            --*) name=${1#--}; name=${name//-/_}
                 if [ $# -lt 2 ] || [ -z "${!name+set}" ]; then
                     log "Error: invalid option $1"; exit 2
                 fi
                 printf -v "${name}" '%s' "$2"; shift 2 ;;
            *) break ;;
        esac
    done
fi
if [ $# -ne 0 ]; then
    log "Error: no positional arguments are accepted"
    exit 2
fi
[ -f ./path.sh ] && . ./path.sh

if [ -z "${config}" ]; then
    config=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/corpora/digits/corpus.yaml
fi
if [ ! -f "${config}" ]; then
    log "Error: corpus config ${config} not found (give --config)"
    exit 2
fi
command -v synthaudio >/dev/null || { log "Error: synthaudio is not on PATH"; exit 2; }

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
    log "stage 1: generate the corpus into ${corpus_dir}"
    synthaudio generate "${config}" -o "${corpus_dir}" -j "${nj}" --quiet \
        ${limit:+--limit "${limit}"} ${seed:+--seed "${seed}"}
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
    log "stage 2: export Kaldi/ESPnet directories with absolute paths and validate"
    # Absolute paths: asr.sh reads wav.scp from the recipe folder, not from the corpus.
    synthaudio export "${corpus_dir}" --format kaldi,espnet --absolute-paths
    synthaudio validate "${corpus_dir}"
fi

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
    log "stage 3: copy to ${data_dir}/{train,dev,test}"
    for split in train dev test; do
        if [ ! -s "${corpus_dir}/data/${split}/wav.scp" ]; then
            log "Error: no ${split} split in ${corpus_dir} (too few speakers, or --limit too small)"
            exit 1
        fi
        rm -rf "${data_dir:?}/${split}"
        mkdir -p "${data_dir}/${split}"
        cp "${corpus_dir}/data/${split}"/* "${data_dir}/${split}/"
        if [ -x utils/validate_data_dir.sh ]; then
            utils/validate_data_dir.sh --no-feats "${data_dir}/${split}"
        fi
    done
    if [ -s "${corpus_dir}/data/espnet_dropped.txt" ]; then
        log "note: $(wc -l < "${corpus_dir}/data/espnet_dropped.txt") utterances lie outside" \
            "asr.sh's default 0.1-20 s and will be dropped (${corpus_dir}/data/espnet_dropped.txt)"
    fi
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
