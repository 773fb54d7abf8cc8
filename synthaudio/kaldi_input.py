"""The Kaldi input reader moved to :mod:`synthaudio.kaldi` (one Kaldi module); the names
stay importable from here."""

from synthaudio.kaldi import (  # noqa: F401 - re-exported
    REQUIRED_FILES,
    UNSUPPORTED_FILES,
    KaldiDir,
    KaldiUtterance,
    check_id,
    read_kaldi_dir,
)
