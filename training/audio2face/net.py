"""The audio-to-face network in torch (training only; inference runs the ONNX export).

Normalised log-mels -> two causal 1-D convolutions (kernel 3) -> one GRU ->
a linear head with a sigmoid: one output per distinct teacher channel plus
the lip-closure depth, which then shuts the lips exactly as the animator
does on p/b/m (lips-apart channels scaled by 1 - closure; jawOpen pulled
to within LIP_GAP of mouthClose). It is
causal: output step s sees feature frames <= s only. Look-ahead comes from
training step s to predict the teacher's frame s - LOOKAHEAD_FRAMES.
All streaming state starts at zeros, in training as at run time; for the
first convolution that is raw features of silence (features are 0 there),
so the normalisation folds into its weights at export.
"""

from __future__ import annotations

import torch
from torch import nn

from merg_sdk.motion.animator import LIP_GAP

LOOKAHEAD_FRAMES = 6  # 60 ms of audio after a frame's time, plus the window's 10 ms
KERNEL = 3

# What the network predicts: the teacher's mouth channels, left/right merged (the
# phoneme teacher is symmetric). OUTPUT_NAMES are the arkit52 names the runtime emits.
CHANNELS = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmile", "mouthStretch",
    "mouthRollLower", "mouthRollUpper", "mouthPress", "mouthLowerDown", "mouthUpperUp",
    "tongueOut",
)  # fmt: skip
OUTPUT_NAMES = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthRollLower", "mouthRollUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "tongueOut",
)  # fmt: skip
OUTPUT_CHANNEL = tuple(
    CHANNELS.index(n.removesuffix("Left").removesuffix("Right")) for n in OUTPUT_NAMES
)
TEACHER_NAMES = tuple(n if n in OUTPUT_NAMES else n + "Left" for n in CHANNELS)
LIPS_APART = ("mouthFunnel", "mouthPucker", "mouthLowerDown", "mouthUpperUp")  # as the animator
JAW, CLOSE = CHANNELS.index("jawOpen"), CHANNELS.index("mouthClose")


def shut_lips(weights: torch.Tensor, closure: torch.Tensor) -> torch.Tensor:
    """The animator's rule: where closure is 1 the lips meet whatever the weights say."""
    apart = torch.tensor([c in LIPS_APART for c in CHANNELS], dtype=weights.dtype)
    jaw_only = torch.zeros(len(CHANNELS), dtype=weights.dtype)
    jaw_only[JAW] = 1.0
    excess = torch.relu(weights[..., JAW : JAW + 1] - weights[..., CLOSE : CLOSE + 1] - LIP_GAP)
    return weights * (1.0 - closure * apart) - closure * excess * jaw_only


class AudioFaceNet(nn.Module):
    def __init__(self, n_mels: int = 40, conv: int = 96, hidden: int = 128) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_mels))
        self.register_buffer("inv_std", torch.ones(n_mels))
        self.conv1 = nn.Conv1d(n_mels, conv, KERNEL)
        self.conv2 = nn.Conv1d(conv, conv, KERNEL)
        self.gru = nn.GRU(conv, hidden, batch_first=True)
        self.head = nn.Linear(hidden, len(CHANNELS) + 1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel [B, T, n_mels] from a zero state -> [B, T, len(CHANNELS) + 1] in [0, 1]:
        the channels after the lip rule, then the closure depth."""
        x = nn.functional.pad(mel.transpose(1, 2), (KERNEL - 1, 0))  # silence before the clip
        x = (x - self.mean[:, None]) * self.inv_std[:, None]
        y = torch.relu(self.conv1(x))
        y = torch.relu(self.conv2(nn.functional.pad(y, (KERNEL - 1, 0))))
        out, _ = self.gru(y.transpose(1, 2))
        raw = torch.sigmoid(self.head(out))
        closure = raw[..., -1:]
        return torch.cat([shut_lips(raw[..., :-1], closure), closure], dim=-1)
