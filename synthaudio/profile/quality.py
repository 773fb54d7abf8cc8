"""Quality: DNSMOS P.835 SIG / BAK / OVRL, with the ONNX models the ``speechmos`` wheel ships.

The primary model ``sig_bak_ovr.onnx`` and the published polynomial mapping of
``speechmos.dnsmos.DNSMOS`` score 9.01 s windows; short audio is repeated to fill one, as
the reference does. Unlike the reference (a window every second), windows here do not
overlap: a profile needs a corpus's distribution, not the last 0.1 MOS of each file, and
this is 9x cheaper on long files. The P.808 model is not run. Sessions have one thread each,
so ``-j N`` workers do not oversubscribe the cores. Nothing is downloaded. Audio is 16 kHz in
[-1, 1] (clipped to it first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from synthaudio.errors import SynthaudioError
from synthaudio.profile.vad import onnx_session

WINDOW_S = 9.01  # the model's input length
EXTRA_HINT = "pip install 'synthaudio[profile]'"


class Dnsmos:
    def __init__(self) -> None:
        try:
            import speechmos.dnsmos as dnsmos
        except ImportError:
            raise SynthaudioError(f"the quality measurement (DNSMOS) needs speechmos: "
                                  f"{EXTRA_HINT}, or leave it out with --skip quality") from None
        models = Path(dnsmos.__file__).parent / "dnsmos_models"
        self._session = onnx_session(models / "sig_bak_ovr.onnx")
        # the polynomial mapping only; __new__ skips loading the models a second time
        self._mapping = dnsmos.DNSMOS.__new__(dnsmos.DNSMOS).get_polyfit_val

    def __call__(self, audio_16k: np.ndarray) -> dict[str, Any]:
        x = np.clip(audio_16k, -1.0, 1.0).astype(np.float32)
        if len(x) < 1600:
            return {"dnsmos_sig": None, "dnsmos_bak": None, "dnsmos_ovrl": None}
        window = int(WINDOW_S * 16000)
        if len(x) < window:
            x = np.tile(x, -(-window // len(x)))
        scores = []
        for start in range(0, len(x) - window + 1, window):
            seg = x[start:start + window][None, :]
            raw = self._session.run(None, {"input_1": seg})[0][0]
            scores.append(self._mapping(raw[0], raw[1], raw[2], False))
        sig, bak, ovrl = np.mean(np.asarray(scores, dtype=np.float64), axis=0)
        return {"dnsmos_sig": float(sig), "dnsmos_bak": float(bak), "dnsmos_ovrl": float(ovrl)}
