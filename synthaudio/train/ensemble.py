"""An ensemble of CTC models over the same frames: the mean of their frame posteriors.

Models trained with different seeds (same features, same vocabulary, one output per input
frame) disagree most where they are unsure; averaging their per-frame probabilities before
the greedy CTC path smooths that out. `EnsembleCTCModel` has the models' call signature,
so ``trainer.decode`` decodes it as it decodes one model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from synthaudio.train.model import AcousticModel, nn, torch


class EnsembleCTCModel(nn.Module):
    """``log(mean_k p_k)`` of the members' frame posteriors ``(B, T, V)``; lengths of the
    first member (every member must give the same)."""

    def __init__(self, members: Sequence[AcousticModel]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one model")
        self.members = nn.ModuleList(members)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor,
                                                                             torch.Tensor]:
        outs = [m(feats, lengths) for m in self.members]
        logps = torch.stack([o[0] for o in outs])  # (K, B, T, V)
        olens = outs[0][1]
        for _, other in outs[1:]:
            if not torch.equal(other, olens):
                raise ValueError("ensemble members give different output lengths")
        return torch.logsumexp(logps, dim=0) - math.log(len(outs)), olens
