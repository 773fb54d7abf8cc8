"""Text stage: prompts (files, templates) and their spoken-form normalization."""

from synthaudio.text.normalize import TextNormalizer, words
from synthaudio.text.prompts import (
    Prompt,
    expand_template,
    normalize_prompts,
    parse_template,
    read_prompt_file,
    template_prompts,
)

__all__ = [
    "Prompt",
    "TextNormalizer",
    "expand_template",
    "normalize_prompts",
    "parse_template",
    "read_prompt_file",
    "template_prompts",
    "words",
]
