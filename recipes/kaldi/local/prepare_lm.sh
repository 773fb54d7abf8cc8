#!/usr/bin/env bash
# A unigram ARPA language model over the training transcripts (a digit loop: any digit
# string is allowed), written to data/local/lm/unigram.arpa for utils/format_lm.sh.
#   local/prepare_lm.sh [data_dir]
set -euo pipefail

data_dir=${1:-data}
lm_dir=${data_dir}/local/lm
mkdir -p "${lm_dir}"
cut -d' ' -f2- "${data_dir}/train/text" | awk '
  { for (i = 1; i <= NF; i++) { count[$i]++; total++ } sentences++ }
  END {
    total += sentences                      # each sentence also predicts </s>
    n = 0; for (w in count) n++
    printf "\\data\\\nngram 1=%d\n\n\\1-grams:\n", n + 2
    printf "%.6f </s>\n", log(sentences / total) / log(10)
    printf "-99 <s>\n"
    for (w in count) printf "%.6f %s\n", log(count[w] / total) / log(10), w
    printf "\n\\end\\\n"
  }' > "${lm_dir}/unigram.arpa"
gzip -f "${lm_dir}/unigram.arpa"
echo "$0: wrote ${lm_dir}/unigram.arpa.gz"
