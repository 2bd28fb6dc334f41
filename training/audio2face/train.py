"""Train the audio-to-face network on the corpus (torch, CPU, seeded).

Each step takes random 4 s crops; half of them get another vocal tract
length (bands warped along frequency) and half a random equaliser (other
voices and microphones colour the spectrum differently). A crop that
starts mid-clip scores only after a burn-in, because its zero state is not
the state the clip's start would have left (crops from a clip's start score
at once: exactly the runtime's situation). Output step s is scored against
the teacher's frame s - LOOKAHEAD_FRAMES. Loss: channel-weighted L1 + MSE
+ cross-entropy, plus L1 on frame-to-frame changes (crisp closures), plus
cross-entropy on the teacher's lip-closure depth. 3% of clips are kept for
validation.

Run: `python -m training.audio2face.train` (about 25 minutes on one core).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import torch
from torch import nn

from merg_sdk.motion.audio2face.features import FMAX_HZ, FMIN_HZ, N_MELS
from training.audio2face.make_corpus import DATA_DIR
from training.audio2face.net import CHANNELS, LOOKAHEAD_FRAMES, AudioFaceNet

SEED = 7
STEPS = int(os.environ.get("MERG_A2F_STEPS", 7000))
BATCH, CROP, BURN_IN = 32, 400, 40
LR = 2e-3
WEIGHTS = {"jawOpen": 4.0, "mouthClose": 2.0, "mouthPress": 2.0, "mouthFunnel": 1.5,
           "mouthPucker": 1.5, "mouthRollLower": 3.0, "tongueOut": 6.0}  # fmt: skip
# rare, small channels (f/v lip tuck, th tongue) are weighted up, or the network learns 0
DELTA_WEIGHT = 4.0
CLOSURE_WEIGHT = 0.2
BCE_WEIGHT = 1.0
EQ_SHARE = 0.5
WARP_SHARE, WARP_RANGE = 0.5, (0.85, 1.25)
_MEL_EDGES = np.linspace(2595 * np.log10(1 + FMIN_HZ / 700), 2595 * np.log10(1 + FMAX_HZ / 700),
                         N_MELS + 2)  # fmt: skip
BAND_CENTRES_HZ = 700.0 * (10 ** (_MEL_EDGES[1:-1] / 2595) - 1)
CHECKPOINT = DATA_DIR / "net.pt"


class Clips:
    """The corpus as one feature array and one target array, cut by clip offsets."""

    def __init__(self, feats: np.ndarray, targets: np.ndarray, lengths: np.ndarray, spare: int):
        self.feats, self.targets, self.lengths = feats, targets, lengths
        self.t0 = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.f0 = self.t0 + spare * np.arange(len(lengths))

    def batch(self, ids: np.ndarray, rng: np.random.Generator, crop: int = CROP, aug: bool = False):
        """Crops [B, crop + K, n_mels], targets [B, crop, C], loss mask [B, crop]; with
        `aug`, some crops get another vocal tract length or spectral colour."""
        k = LOOKAHEAD_FRAMES
        mel = np.zeros((len(ids), crop + k, self.feats.shape[1]), np.float32)  # 0 is silence
        target = np.zeros((len(ids), crop, self.targets.shape[1]), np.float32)
        mask = np.zeros((len(ids), crop), np.float32)
        for row, i in enumerate(ids):
            n = self.lengths[i]
            start = 0 if n <= crop or rng.random() < 0.3 else int(rng.integers(0, n - crop))
            m = min(crop, n - start)
            f = self.f0[i] + start
            mel[row, : m + k] = self.feats[f : f + m + k]
            target[row, :m] = self.targets[self.t0[i] + start : self.t0[i] + start + m]
            mask[row, :m] = 1.0
            if start > 0:
                mask[row, :BURN_IN] = 0.0
            if aug and rng.random() < WARP_SHARE:
                mel[row] = warp_bands(mel[row], np.exp(rng.uniform(*np.log(WARP_RANGE))))
            if aug and rng.random() < EQ_SHARE:
                mel[row] = random_eq(mel[row], rng)
        return torch.from_numpy(mel), torch.from_numpy(target), torch.from_numpy(mask)


def warp_bands(mel: np.ndarray, factor: float) -> np.ndarray:
    """Formants scaled by `factor` at the same pitch contour and timing: each band takes
    the value the clip had at its centre frequency / factor (vocal tract length)."""
    centres = BAND_CENTRES_HZ
    pos = np.interp(centres / factor, centres, np.arange(len(centres)))
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(centres) - 1)
    w = (pos - lo).astype(np.float32)
    return mel[:, lo] * (1.0 - w) + mel[:, hi] * w


def random_eq(mel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another voice, vocoder or microphone: a smooth random gain curve over the bands
    (a tilt plus three bumps, up to about +-8 dB), silent bands left silent."""
    bands = np.arange(mel.shape[1])
    curve = rng.uniform(-1.0, 1.0) * (bands / bands[-1] - 0.5)
    for _ in range(3):
        centre, width = rng.uniform(0, bands[-1]), rng.uniform(2, 8)
        curve += rng.uniform(-0.9, 0.9) * np.exp(-0.5 * ((bands - centre) / width) ** 2)
    return np.where(mel > 0, np.maximum(mel + curve.astype(np.float32), 0.0), 0.0)


def loss_fn(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor):
    pred = pred[:, LOOKAHEAD_FRAMES:]  # step s predicts frame s - K
    closure = nn.functional.binary_cross_entropy(
        pred[..., -1].clamp(1e-6, 1 - 1e-6), target[..., -1], reduction="none"
    )
    closure = (closure * mask).sum() / mask.sum()
    pred, target = pred[..., :-1], target[..., :-1]
    err = pred - target
    # cross-entropy keeps a gradient where the sigmoid is saturated near 0 (rare channels)
    bce = nn.functional.binary_cross_entropy(pred.clamp(1e-5, 1 - 1e-5), target, reduction="none")
    per = (err.abs() + err**2 + BCE_WEIGHT * bce) * weight
    loss = (per.sum(-1) * mask).sum() / (mask.sum() * weight.sum())
    d_err = err[:, 1:] - err[:, :-1]
    d_mask = mask[:, 1:] * mask[:, :-1]
    d_loss = ((d_err.abs() * weight).sum(-1) * d_mask).sum() / (d_mask.sum() * weight.sum())
    return loss + DELTA_WEIGHT * d_loss + CLOSURE_WEIGHT * closure


def load() -> tuple[Clips, np.ndarray, np.ndarray]:
    data = np.load(DATA_DIR / "train.npz")
    feats = data["feats"].astype(np.float32)
    clips = Clips(feats, data["targets"].astype(np.float32), data["lengths"], spare=10)
    return clips, feats.mean(axis=0), feats.std(axis=0)


def evaluate(model, clips: Clips, ids: np.ndarray, weight) -> tuple[float, float]:
    """Validation loss and jawOpen Pearson r on whole clips from a zero state."""
    model.eval()
    preds, targets, losses = [], [], []
    with torch.no_grad():
        for chunk in np.array_split(ids, max(1, len(ids) // 16)):
            crop = int(clips.lengths[chunk].max())
            mel, target, mask = clips.batch(chunk, np.random.default_rng(0), crop=crop)
            pred = model(mel)
            losses.append(float(loss_fn(pred, target, mask, weight)))
            keep = mask.numpy() > 0
            preds.append(pred[:, LOOKAHEAD_FRAMES:, 0].numpy()[keep])
            targets.append(target[..., 0].numpy()[keep])
    model.train()
    r = np.corrcoef(np.concatenate(preds), np.concatenate(targets))[0, 1]
    return float(np.mean(losses)), float(r)


def main() -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # a small GRU: 10x faster than 2 threads on 2 busy cores
    rng = np.random.default_rng(SEED)
    clips, mean, std = load()
    ids = rng.permutation(len(clips.lengths))
    n_val = max(16, len(ids) * 3 // 100)
    val, train = ids[:n_val], ids[n_val:]
    model = AudioFaceNet(n_mels=clips.feats.shape[1])
    model.mean.copy_(torch.from_numpy(mean))
    model.inv_std.copy_(torch.from_numpy(1.0 / np.maximum(std, 1e-3)))
    weight = torch.tensor([WEIGHTS.get(c, 1.0) for c in CHANNELS])
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, LR, total_steps=STEPS, pct_start=0.05)
    print(f"{len(train)} training clips, {clips.lengths[train].sum() / 360000:.2f} h; "
          f"{sum(p.numel() for p in model.parameters())} parameters; {STEPS} steps")  # fmt: skip
    started, best = time.perf_counter(), math.inf
    for step in range(1, STEPS + 1):
        mel, target, mask = clips.batch(rng.choice(train, BATCH), rng, aug=True)
        loss = loss_fn(model(mel), target, mask, weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 500 == 0 or step == STEPS:
            val_loss, r = evaluate(model, clips, val, weight)
            if val_loss < best:
                best = val_loss
                torch.save({"state": model.state_dict(), "step": step, "val_loss": val_loss,
                            "val_jaw_r": r, "minutes": (time.perf_counter() - started) / 60},
                           CHECKPOINT)  # fmt: skip
            print(f"step {step}: train {loss.item():.4f} val {val_loss:.4f} jaw r {r:.3f} "
                  f"{(time.perf_counter() - started) / 60:.1f} min", flush=True)  # fmt: skip
    print(f"best val loss {best:.4f}; saved {CHECKPOINT}")


if __name__ == "__main__":
    main()
