"""Opus round trip through libopus itself (ctypes): packets encoded and decoded in memory.

libsndfile's Ogg/Opus writer costs about twice what libopus' own encoder does on the same
audio at the same bitrate (speech at 16 kHz: ~22 vs ~9 ms per second of audio, mean over
the compression levels 0.8-0.99; `benchmarks/bench_opus.py`), and the
codec is the channel stage's largest cost. No container is written: the packets go
straight to the decoder. The bitrate follows libsndfile's compression level (256 kbit/s at
0 down to 6 kbit/s at 1, linear, per channel), VBR, 20 ms frames, the default complexity;
the encoder's look-ahead is removed, so the output is aligned with the input.

Used by :func:`synthaudio.augment.channel.apply_codec` when ``libopus.so.0`` loads (it
is what libsndfile's Opus support links to); without it the channel falls back to
libsndfile and says so in the codec string of the report.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import numpy as np

RATES = (8000, 12000, 16000, 24000, 48000)
_APPLICATION_AUDIO = 2049
_SET_BITRATE = 4002
_GET_LOOKAHEAD = 4027
_MAX_PACKET_BYTES = 4000
_FRAME_S = 0.02


@functools.lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("opus") or "libopus.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.opus_encoder_create.restype = ctypes.c_void_p
    lib.opus_encoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_int,
                                        ctypes.POINTER(ctypes.c_int)]
    lib.opus_decoder_create.restype = ctypes.c_void_p
    lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int,
                                        ctypes.POINTER(ctypes.c_int)]
    lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_encode_float.restype = ctypes.c_int32
    lib.opus_encode_float.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                                      ctypes.c_char_p, ctypes.c_int32]
    lib.opus_decode_float.restype = ctypes.c_int
    lib.opus_decode_float.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                                      ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.opus_get_version_string.restype = ctypes.c_char_p
    # opus_encoder_ctl is variadic: its encoder is passed as ctypes.c_void_p at each call
    return lib


def available() -> bool:
    """Whether libopus can be loaded."""
    return _lib() is not None


def version() -> str:
    lib = _lib()
    return "" if lib is None else lib.opus_get_version_string().decode()


def bitrate_bps(level: float | None) -> int:
    """libsndfile's compression level as a bitrate, one channel (``None``: its default, 0)."""
    return round(256000 - 250000 * (0.0 if level is None else float(level)))


def roundtrip(x: np.ndarray, rate: int, level: float | None) -> np.ndarray:
    """Encode and decode mono float32 ``x`` at ``rate`` (one of :data:`RATES`); the decoded
    samples aligned with ``x``, same length."""
    lib = _lib()
    if lib is None:
        raise RuntimeError("libopus is not available")
    if rate not in RATES:
        raise ValueError(f"opus cannot run at {rate} Hz; expected one of {RATES}")
    err = ctypes.c_int(0)
    enc = lib.opus_encoder_create(rate, 1, _APPLICATION_AUDIO, ctypes.byref(err))
    if not enc or err.value != 0:
        raise RuntimeError(f"opus_encoder_create failed ({err.value})")
    dec = lib.opus_decoder_create(rate, 1, ctypes.byref(err))
    if not dec or err.value != 0:
        lib.opus_encoder_destroy(enc)
        raise RuntimeError(f"opus_decoder_create failed ({err.value})")
    try:
        lib.opus_encoder_ctl(ctypes.c_void_p(enc), _SET_BITRATE, ctypes.c_int32(bitrate_bps(level)))
        lookahead = ctypes.c_int32(0)
        lib.opus_encoder_ctl(ctypes.c_void_p(enc), _GET_LOOKAHEAD, ctypes.byref(lookahead))
        delay = int(lookahead.value)
        frame = round(_FRAME_S * rate)
        n = x.shape[-1]
        frames = -(-(n + delay) // frame)
        pcm = np.zeros(frames * frame, dtype=np.float32)
        pcm[:n] = np.clip(x, -1.0, 1.0)
        out = np.empty(frames * frame, dtype=np.float32)
        packet = ctypes.create_string_buffer(_MAX_PACKET_BYTES)
        pcm_ptr, out_ptr = pcm.ctypes.data, out.ctypes.data
        for i in range(frames):
            size = lib.opus_encode_float(enc, pcm_ptr + 4 * i * frame, frame, packet,
                                         _MAX_PACKET_BYTES)
            if size < 0:
                raise RuntimeError(f"opus_encode_float failed ({size})")
            got = lib.opus_decode_float(dec, packet, size, out_ptr + 4 * i * frame, frame, 0)
            if got != frame:
                raise RuntimeError(f"opus_decode_float failed ({got})")
    finally:
        lib.opus_encoder_destroy(enc)
        lib.opus_decoder_destroy(dec)
    return out[delay:delay + n].copy()
