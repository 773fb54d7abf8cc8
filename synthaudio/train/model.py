"""A small CTC acoustic model: two 2-D convolutions, a bidirectional GRU, a linear output.

Input features ``(batch, n_frames, n_mels)``; output log-probabilities
``(batch, n_out_frames, vocab_size)`` with ``n_out_frames = ceil(n_frames / time_stride)``
(time stride 2: 20 ms per output frame at a 10 ms hop, enough for characters; 4: 40 ms,
enough for words and twice as fast). :class:`EmbeddingCTCModel` is the CTC model over
frozen speech-embedding frames (one output per 80 ms frame); :class:`EmbeddingClassifier`
the clip classifier over them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

try:
    import torch
    from torch import nn
except ImportError:  # the optional subpackage's one heavy dependency
    raise ImportError("synthaudio.train needs torch for its model and trainer: "
                      "pip install 'synthaudio[train]'") from None


@dataclass(frozen=True)
class ModelConfig:
    n_mels: int = 64  # feature dimension
    conv_channels: int = 32
    hidden: int = 128  # GRU units per direction
    gru_layers: int = 2
    dropout: float = 0.15
    time_stride: int = 2  # input frames per output frame: 2 or 4

    def __post_init__(self) -> None:
        if self.time_stride not in (2, 4):
            raise ValueError(f"time_stride must be 2 or 4, got {self.time_stride}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def out_lengths(n_frames: torch.Tensor, time_stride: int) -> torch.Tensor:
    """Output frames for input lengths: ``ceil(n / s)`` per convolution (kernel 3, pad 1)."""
    n = (n_frames + 1) // 2
    second = time_stride // 2
    return (n + second - 1) // second


class CTCModel(nn.Module):
    """Conv2d (stride 2 in time and frequency) -> Conv2d (stride 2 in frequency, and in time
    when ``time_stride`` is 4) -> linear -> BiGRU -> linear."""

    def __init__(self, cfg: ModelConfig, vocab_size: int) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.conv_channels
        self.conv1 = nn.Sequential(
            nn.Conv2d(1, c, kernel_size=3, stride=(2, 2), padding=1),
            nn.BatchNorm2d(c),
            nn.GELU(),
        )
        self.conv2 = nn.Sequential(
            nn.Conv2d(c, c, kernel_size=3, stride=(cfg.time_stride // 2, 2), padding=1),
            nn.BatchNorm2d(c),
            nn.GELU(),
        )
        freq = (cfg.n_mels + 1) // 2
        freq = (freq + 1) // 2
        self.proj = nn.Linear(c * freq, cfg.hidden * 2)
        self.dropout = nn.Dropout(cfg.dropout)
        self.gru = nn.GRU(cfg.hidden * 2, cfg.hidden, num_layers=cfg.gru_layers,
                          batch_first=True, bidirectional=True,
                          dropout=cfg.dropout if cfg.gru_layers > 1 else 0.0)
        self.out = nn.Linear(cfg.hidden * 2, vocab_size)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor,
                                                                             torch.Tensor]:
        """Log-probabilities ``(B, T', V)`` and their lengths ``(B,)``.

        Args:
            feats: ``(B, T, n_mels)`` features, zero-padded after each utterance's length.
            lengths: ``(B,)`` frames per utterance (int64, on the CPU).
        """
        logits, olens = self.frame_logits(feats, lengths)
        return logits.log_softmax(dim=-1), olens

    def frame_logits(self, feats: torch.Tensor, lengths: torch.Tensor,
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Unnormalized output scores ``(B, T', V)`` and their lengths ``(B,)``."""
        y, olens = self.encode(feats, lengths)
        return self.out(self.dropout(y)), olens

    def encode(self, feats: torch.Tensor, lengths: torch.Tensor,
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """The GRU's outputs ``(B, T', 2 * hidden)`` and their lengths ``(B,)``."""
        x = self.conv1(feats.unsqueeze(1))  # (B, C, T/2, F/2)
        # Zero the frames past each utterance's end, so its output does not depend on
        # how much padding the batch gave it.
        valid = torch.arange(x.shape[2])[None, :] < ((lengths + 1) // 2)[:, None]
        x = self.conv2(x * valid[:, None, :, None].to(x.dtype))  # (B, C, T', F')
        b, c, t, f = x.shape
        x = x.permute(0, 2, 1, 3).reshape(b, t, c * f)
        x = self.dropout(torch.nn.functional.gelu(self.proj(x)))
        olens = out_lengths(lengths, self.cfg.time_stride).clamp(max=t)
        packed = nn.utils.rnn.pack_padded_sequence(x, olens.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        y, _ = self.gru(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=t)
        return y, olens


class ClassifierModel(CTCModel):
    """The same network as a clip classifier: the frame scores, max-pooled over each clip's
    frames, are the class logits ``(B, V)`` (a keyword anywhere in the clip counts)."""

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor,  # type: ignore[override]
                ) -> torch.Tensor:
        logits, olens = self.frame_logits(feats, lengths)
        valid = torch.arange(logits.shape[1])[None, :] < olens[:, None]
        return logits.masked_fill(~valid[:, :, None], -1e4).amax(dim=1)


OUTPUTS = ("softmax", "sigmoid")  # HeadConfig.output
POOLS = ("max", "flat")  # HeadConfig.pool


@dataclass(frozen=True)
class HeadConfig:
    """A classifier over frozen embedding frames (:mod:`synthaudio.train.embedding`)."""

    dim: int = 96  # embedding dimension
    channels: int = 128
    layers: int = 2  # 1-D convolutions (kernel 3) over the frames
    dropout: float = 0.3
    # the embedding network's top convolutions it fine-tunes (EmbeddingConfig.tune_layers;
    # 0: none), initialized from ``embedding_model``'s weights
    tune_layers: int = 0
    embedding_model: str = "pkg:openwakeword"
    kind: str = "embedding-head"  # how a saved model names its class
    # "softmax": the classes exclude each other (cross-entropy; a class's score is relative
    # to the others'); "sigmoid": one-vs-rest, each class its own sigmoid (binary
    # cross-entropy against the one-hot label), so a keyword's score is absolute and
    # speech unlike every class can score low on all of them (OUTPUTS)
    output: str = "softmax"
    # how a clip's frames become its scores (POOLS): "max", each channel's maximum over the
    # frames, so a word scores the same wherever it is in the window and whatever is around
    # it; "flat", the window's frames in order through one hidden layer (as openWakeWord's
    # heads read their 16 frames), so a score can depend on where the word is and on what is
    # said before and after it (a command said alone, or the same sounds inside a sentence)
    pool: str = "max"
    frames: int = 0  # the frames a "flat" head reads: a window's (FrameConfig's window)

    def __post_init__(self) -> None:
        if self.layers < 1 or self.channels < 1:
            raise ValueError(f"layers and channels must be >= 1, got {self.layers}, "
                             f"{self.channels}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {self.pool!r}")
        if self.pool == "flat" and self.frames < 1:
            raise ValueError(f"a flat head needs the frames of its window (>= 1), got "
                             f"{self.frames}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def conv_blocks(dim: int, channels: int, layers: int, dropout: float) -> nn.ModuleList:
    """``layers`` x (Conv1d (kernel 3, same length), BatchNorm, GELU, dropout) over
    ``(B, C, T)`` frames, the first from ``dim`` channels: the stack of both embedding heads."""
    return nn.ModuleList(
        nn.Sequential(nn.Conv1d(dim if k == 0 else channels, channels, kernel_size=3,
                                padding=1),
                      nn.BatchNorm1d(channels), nn.GELU(), nn.Dropout(dropout))
        for k in range(layers))


TOP_LR_SCALE = 0.1  # the fine-tuned top's learning rate, as a fraction of the head's


class EmbeddingTop(nn.Module):
    """The speech-embedding network's top ``tune_layers`` convolutions in torch, for
    fine-tuning: ``(B, T, feature_dim)`` frames (the flattened activations they read) ->
    ``(B, T, 96)``, as the ONNX network maps them (each convolution with its batch norm
    folded in, then LeakyReLU 0.2 and a floor at -0.4; the last linear, after a 2x2
    max-pooling). Initialized from the ONNX file's weights: fine-tuning starts from the
    embedding itself."""

    def __init__(self, tune_layers: int, model: str) -> None:
        from synthaudio.train.embedding import TOP_SHAPES, top_convolutions

        super().__init__()
        self.shape = TOP_SHAPES[tune_layers - 1]
        self.convs = nn.ModuleList()
        for w, b in top_convolutions(model, tune_layers):  # bottom first
            height, width = w.shape[2:]  # 3x1 (over mel frames) or 1x3 (bands, padded)
            conv = nn.Conv2d(w.shape[1], w.shape[0], (height, width),
                             padding=(0, width // 2), bias=b is not None)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(w.copy()))
                if conv.bias is not None:  # the last convolution has none
                    conv.bias.copy_(torch.from_numpy(b.copy()))
            self.convs.append(conv)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``(B, T, feature_dim)`` -> ``(B, T, 96)``, each frame on its own."""
        batch, frames = feats.shape[:2]
        y = feats.reshape(batch * frames, *self.shape)
        for conv in self.convs[:-1]:
            y = torch.clamp(nn.functional.leaky_relu(conv(y), 0.2), min=-0.4)
        if len(self.convs) > 1:  # the 2x2 max-pooling before the last convolution
            y = nn.functional.max_pool2d(y, 2)
        return self.convs[-1](y).reshape(batch, frames, -1)


class EmbeddingClassifier(nn.Module):
    """LayerNorm over each frame -> ``layers`` x (Conv1d, BatchNorm, GELU, dropout) -> the
    maximum over each clip's frames (``pool`` "max") or the ``frames`` frames in order
    through a hidden layer of ``channels`` (GELU, dropout; ``pool`` "flat") -> linear:
    class logits ``(B, V)``. (BatchNorm's statistics see the zero padding of a batch; a
    keywords corpus's clips are of one length.) A flat head given more frames than its
    window reads the middle ones, given fewer reads them followed by zeros."""

    def __init__(self, cfg: HeadConfig, n_classes: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.top = EmbeddingTop(cfg.tune_layers, cfg.embedding_model) if cfg.tune_layers else None
        self.norm = nn.LayerNorm(cfg.dim)
        self.convs = conv_blocks(cfg.dim, cfg.channels, cfg.layers, cfg.dropout)
        self.flat = (nn.Sequential(nn.Linear(cfg.channels * cfg.frames, cfg.channels), nn.GELU(),
                                   nn.Dropout(cfg.dropout)) if cfg.pool == "flat" else None)
        self.out = nn.Linear(cfg.channels, n_classes)

    def param_groups(self, lr: float) -> list[dict[str, Any]] | None:
        """The optimizer's parameter groups where the embedding's top is fine-tuned: the top
        at ``TOP_LR_SCALE`` of the head's learning rate and without weight decay (which would
        pull the trained weights towards zero, not towards where they start); None: one
        group (no top)."""
        if self.top is None:
            return None
        top = set(map(id, self.top.parameters()))
        return [{"params": [q for q in self.parameters() if id(q) not in top], "lr": lr},
                {"params": list(self.top.parameters()), "lr": lr * TOP_LR_SCALE,
                 "weight_decay": 0.0}]

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``feats`` ``(B, T, dim)`` zero-padded after each clip's ``lengths`` frames."""
        valid = torch.arange(feats.shape[1])[None, :] < lengths[:, None]  # (B, T)
        mask = valid[:, None, :].to(feats.dtype)
        if self.top is not None:
            feats = self.top(feats)
        y = self.norm(feats).transpose(1, 2) * mask  # (B, dim, T)
        for block in self.convs:  # padding stays zero: a clip's scores ignore its batch
            y = block(y) * mask
        if self.flat is None:
            return self.out(y.masked_fill(~valid[:, None, :], -1e4).amax(dim=2))
        # each clip's middle ``frames`` (by its own length, not the batch's padding)
        at = (lengths[:, None] - self.cfg.frames).clamp(min=0) // 2 + torch.arange(
            self.cfg.frames)[None, :]  # (B, frames)
        inside = (at < lengths[:, None]).to(y.dtype)[:, None, :]
        at = at.clamp(max=y.shape[2] - 1)[:, None, :].expand(-1, y.shape[1], -1)
        return self.out(self.flat((y.gather(2, at) * inside).flatten(1)))


@dataclass(frozen=True)
class EmbeddingCTCConfig:
    """A CTC model over frozen embedding frames (:mod:`synthaudio.train.embedding`): one
    output per 80 ms frame, enough for words (a digit lasts 3 frames or more)."""

    dim: int = 96  # embedding dimension
    channels: int = 128  # the 1-D convolutions (kernel 3) before the GRU
    conv_layers: int = 1
    hidden: int = 128  # GRU units per direction
    gru_layers: int = 2  # 0: convolutions only (each output sees 2 * conv_layers + 1 frames)
    dropout: float = 0.2
    kind: str = "embedding-ctc"  # how a saved model names its class

    def __post_init__(self) -> None:
        if self.channels < 1 or self.hidden < 1 or self.conv_layers < 1 or self.gru_layers < 0:
            raise ValueError(f"channels, hidden and conv_layers must be >= 1 and gru_layers "
                             f">= 0, got {self.channels}, {self.hidden}, {self.conv_layers}, "
                             f"{self.gru_layers}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class EmbeddingCTCModel(nn.Module):
    """LayerNorm over each frame -> ``conv_layers`` x (Conv1d (kernel 3), BatchNorm, GELU, dropout)
    -> BiGRU (when ``gru_layers``) -> linear: log-probabilities ``(B, T, V)`` over the
    input's own frames, as :class:`CTCModel`'s."""

    def __init__(self, cfg: EmbeddingCTCConfig, vocab_size: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.norm = nn.LayerNorm(cfg.dim)
        self.convs = conv_blocks(cfg.dim, cfg.channels, cfg.conv_layers, cfg.dropout)
        self.dropout = nn.Dropout(cfg.dropout)
        self.gru = (nn.GRU(cfg.channels, cfg.hidden, num_layers=cfg.gru_layers,
                           batch_first=True, bidirectional=True,
                           dropout=cfg.dropout if cfg.gru_layers > 1 else 0.0)
                    if cfg.gru_layers else None)
        self.out = nn.Linear(cfg.hidden * 2 if cfg.gru_layers else cfg.channels, vocab_size)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor,
                                                                             torch.Tensor]:
        """Log-probabilities ``(B, T, V)`` and their lengths (``lengths``).

        Args:
            feats: ``(B, T, dim)`` embedding frames, zero-padded after each utterance's length.
            lengths: ``(B,)`` frames per utterance (int64, on the CPU).
        """
        t = feats.shape[1]
        valid = (torch.arange(t)[None, :] < lengths[:, None])[:, None, :].to(feats.dtype)
        # zero past each utterance's end: its output does not depend on the batch's padding
        x = self.norm(feats).transpose(1, 2) * valid  # (B, dim, T)
        for block in self.convs:
            x = block(x) * valid  # (B, C, T)
        y = x.transpose(1, 2)
        olens = lengths.clamp(max=t)
        if self.gru is not None:
            packed = nn.utils.rnn.pack_padded_sequence(y, olens.cpu(), batch_first=True,
                                                       enforce_sorted=False)
            y, _ = self.gru(packed)
            y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=t)
            y = self.dropout(y)
        return self.out(y).log_softmax(dim=-1), olens


AcousticModel = CTCModel | EmbeddingCTCModel


def new_ctc_model(cfg: ModelConfig | EmbeddingCTCConfig, vocab_size: int) -> AcousticModel:
    """The CTC network the settings are for: log-mel (ModelConfig) or embedding frames."""
    if isinstance(cfg, EmbeddingCTCConfig):
        return EmbeddingCTCModel(cfg, vocab_size)
    return CTCModel(cfg, vocab_size)
