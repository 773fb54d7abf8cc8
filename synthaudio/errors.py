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


class AtKey(SynthaudioError):
    """Marks an error whose message starts with a config key path (``speakers.piper.model:
    ...``), not with the config file: the pipeline that read the config adds the file
    (``synthaudio.pipelines.front.naming_config``)."""


class ConfigKeyError(ConfigError, AtKey):
    """A :class:`ConfigError` at a key of the config being run."""


class InputKeyError(InputError, AtKey):
    """An :class:`InputError` about a file a config key names (a noise folder, a prompt
    file): the message starts with the key."""
