"""The README's test command installs the system packages it needs, from one list."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "system-packages.sh"


def test_readme_test_command_and_ci_call_the_one_package_script() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [c for c in re.findall(r"```sh\n(.*?)\n```", readme, re.S) if "pytest" in c]
    assert commands and commands[0].startswith("bash .ci/system-packages.sh && ")
    assert "bash .ci/system-packages.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    text = SCRIPT.read_text(encoding="utf-8")
    for package in ("ffmpeg", "sox", "chromium", "flite", "festival", "festvox-kallpc16k"):
        assert re.search(rf"\b{re.escape(package)}\b", text.split("packages=(", 1)[1])


def test_the_script_is_valid_and_finds_nothing_missing_here() -> None:
    # every package is installed on the machines that run the tests: it must not reinstall
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
