"""Text normalization for scoring: the same callable is applied to references and hypotheses.

jiwer only splits on whitespace; case, punctuation and recognizer filler tokens are the
caller's job, and must be handled identically on both sides or the WER is meaningless.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Recognizer non-speech tokens: pocketsphinx `<s>`, `</s>`, `<sil>`, `[NOISE]`, `[SPEECH]`,
# old Sphinx `++NOISE++`, whisper `<|endoftext|>`.
_FILLER_RE = re.compile(r"<[^<>\s]*>|\[[^\[\]]*\]|\+\+[^+\s]*\+\+")
# Pocketsphinx alternate-pronunciation suffix: "the(2)" -> "the".
_ALT_PRON_RE = re.compile(r"(?<=\w)\(\d+\)")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


@dataclass(frozen=True)
class EvalNormalizer:
    """Callable text normalizer for WER/CER scoring.

    Steps: NFKC, filler removal, lower-case, every punctuation or symbol character becomes a
    space except an apostrophe between two word characters ("don't" stays, "'quoted'" loses
    its quotes), whitespace collapsed. Digits are kept as they are (no number expansion).
    """

    lowercase: bool = True  # fold case before comparing
    remove_fillers: bool = True  # drop <sil>, [noise], <s>, ++um++ and the like

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
        if self.remove_fillers:
            text = _FILLER_RE.sub(" ", text)
            text = _ALT_PRON_RE.sub("", text)
        if self.lowercase:
            text = text.lower()
        chars: list[str] = []
        for i, ch in enumerate(text):
            if ch == "'":
                before = text[i - 1] if i > 0 else " "
                after = text[i + 1] if i + 1 < len(text) else " "
                chars.append("'" if _is_word_char(before) and _is_word_char(after) else " ")
            elif unicodedata.category(ch)[0] in "PSZC":
                chars.append(" ")
            else:
                chars.append(ch)
        return " ".join("".join(chars).split())


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LN"
