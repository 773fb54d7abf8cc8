"""User-facing errors: one line that names what is wrong and where.

The CLI prints ``str(error)`` and exits with code 2; no traceback unless ``--debug``.
"""

from __future__ import annotations


class SynthaudioError(Exception):
    """Bad input from the user (config, text, audio, paths): a one-line message."""


class ConfigError(SynthaudioError):
    """A corpus or augmentation config is invalid; the message names the file and key path."""


class InputError(SynthaudioError):
    """An input file (prompts, audio, Kaldi directory) is unreadable or malformed."""
