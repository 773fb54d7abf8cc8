"""The report in a real browser: headless Chromium loads the page, alone in a folder of its
own, with all its embedded images and audio."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from synthaudio.evaluate.evaluate import evaluate_corpus
from synthaudio.evaluate.report import write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
]

# Appended to a copy of the page: after load, waits for every <audio> to have its metadata
# (or fail), then writes what loaded into the DOM for --dump-dom to show.
CHECK_SCRIPT = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var badImgs = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                    .map(function (i) { return i.getAttribute("src"); });
  var audios = Array.prototype.slice.call(document.querySelectorAll("audio"));
  var waits = audios.map(function (a) {
    return new Promise(function (resolve) {
      if (a.readyState >= 1) { resolve(a.duration > 0 ? null : a.getAttribute("src")); return; }
      a.addEventListener("loadedmetadata", function () { resolve(null); });
      a.addEventListener("error", function () { resolve(a.getAttribute("src")); });
      setTimeout(function () { resolve("timeout " + a.getAttribute("src")); }, 8000);
    });
  });
  Promise.all(waits).then(function (res) {
    var out = document.createElement("pre");
    out.id = "loadcheck";
    out.textContent = "LOADCHECK " + JSON.stringify({
      images: imgs.length, badImages: badImgs, audios: audios.length,
      badAudios: res.filter(function (r) { return r !== null; })});
    document.body.appendChild(out);
  });
});
</script>"""


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def run_browser(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def report(corpus_factory: Any, tmp_path: Path) -> Path:
    out = corpus_factory(tmp_path / "corpus")
    hyp = tmp_path / "hyp.txt"
    hyp.write_text(
        "spk001-000001 ten of clubs\nspk001-000002 seven of clubs\n"
        "spk002-000003 five nine\nspk002-000004 for queen of\n",
        encoding="utf-8",
    )
    evaluate_corpus(out, asr=f"hyp:{hyp}", name="hyp-test")
    return write_report(out)


def test_page_images_and_audio_load_in_chromium(report: Path, tmp_path: Path) -> None:
    browser = find_browser()
    if browser is None:
        pytest.skip("no chromium binary (apt-get install chromium)")
    # The page alone, in a folder of its own (as a mail attachment is): everything in it loads.
    mailed = tmp_path / "mailed"
    mailed.mkdir()
    check = mailed / "check.html"
    check.write_text(
        report.read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT + "</body>"),
        encoding="utf-8",
    )
    done = run_browser(
        browser, tmp_path / "profile", "--virtual-time-budget=20000", "--dump-dom", check.as_uri()
    )
    m = re.search(r"LOADCHECK (\{.*?\})</pre>", done.stdout)
    assert m, f"no load check in the DOM; chromium said: {done.stderr[-2000:]}"
    result = json.loads(html.unescape(m.group(1)))
    n_imgs = report.read_text(encoding="utf-8").count("<img ")
    assert result["images"] == n_imgs == 7
    assert result["badImages"] == []
    assert result["audios"] > 0 and result["badAudios"] == []
    assert result["audios"] == report.read_text(encoding="utf-8").count('src="data:audio/ogg')

    shot = tmp_path / "report.png"
    run_browser(
        browser,
        tmp_path / "profile2",
        "--window-size=1280,2400",
        f"--screenshot={shot}",
        report.as_uri(),
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a rendered page, not blank
