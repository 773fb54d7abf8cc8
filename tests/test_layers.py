"""Layers point down: importing a low layer loads nothing above it (fresh interpreters)."""

import json
import subprocess
import sys

import pytest


def _loaded_after(module: str) -> list[str]:
    code = (f"import json, sys, {module}; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('synthaudio'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.parametrize(("module", "forbidden"), [
    ("synthaudio.config", ("synthaudio.evaluate", "synthaudio.executors", "synthaudio.workers")),
    ("synthaudio.configbase", ("synthaudio.augment", "synthaudio.tts", "synthaudio.corpus")),
    ("synthaudio.tts", ("synthaudio.augment",)),
    ("synthaudio.tts.espeak", ("synthaudio.augment",)),
    ("synthaudio.tts.coqui", ("synthaudio.augment",)),
    ("synthaudio.tts.variants", ("synthaudio.augment",)),
])
def test_import_loads_no_higher_layer(module: str, forbidden: tuple[str, ...]) -> None:
    loaded = _loaded_after(module)
    assert module in loaded  # the probe really imported it
    bad = [m for m in loaded if m.startswith(forbidden)]
    assert bad == [], f"import {module} loads {bad}"
