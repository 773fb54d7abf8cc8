#!/usr/bin/env bash
# The pronunciation dictionary of the digits corpus, for utils/prepare_lang.sh:
# data/local/dict/{lexicon,nonsilence_phones,silence_phones,optional_silence}.txt.
# CMUdict pronunciations without stress. Fails naming any word of data/*/text it lacks.
#   local/prepare_dict.sh [data_dir] [dict_dir]
set -euo pipefail

data_dir=${1:-data}
dict_dir=${2:-${data_dir}/local/dict}
mkdir -p "${dict_dir}"

LC_ALL=C sort > "${dict_dir}/lexicon_words.txt" <<'LEX'
eight EY T
five F AY V
four F AO R
nine N AY N
oh OW
one W AH N
seven S EH V AH N
six S IH K S
three TH R IY
two T UW
zero Z IH R OW
zero Z IY R OW
LEX

missing=$(cat "${data_dir}"/{train,dev,test}/text 2>/dev/null | cut -d' ' -f2- | tr ' ' '\n' \
    | grep -v '^$' | LC_ALL=C sort -u \
    | LC_ALL=C join -v1 - <(cut -d' ' -f1 "${dict_dir}/lexicon_words.txt" | LC_ALL=C sort -u) \
    || true)
if [ -n "${missing}" ]; then
    echo "$0: words without a pronunciation: $(echo ${missing})" >&2
    echo "$0: this dictionary covers spoken digits only; add them to it" >&2
    exit 1
fi

{ echo "!SIL SIL"; echo "<unk> SPN"; cat "${dict_dir}/lexicon_words.txt"; } \
    | LC_ALL=C sort -u > "${dict_dir}/lexicon.txt"
rm "${dict_dir}/lexicon_words.txt"
cut -d' ' -f2- "${dict_dir}/lexicon.txt" | tr ' ' '\n' | grep -v -e '^SIL$' -e '^SPN$' \
    | LC_ALL=C sort -u > "${dict_dir}/nonsilence_phones.txt"
printf 'SIL\nSPN\n' > "${dict_dir}/silence_phones.txt"
echo SIL > "${dict_dir}/optional_silence.txt"
: > "${dict_dir}/extra_questions.txt"
echo "$0: wrote ${dict_dir} ($(wc -l < "${dict_dir}/lexicon.txt") entries)"
