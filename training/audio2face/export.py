"""Export the trained network to ONNX in its streaming form, and check it against torch.

The graph is written node by node (no exporter magic): every piece of
state is an explicit input and output, so a stream carries the two
convolution histories and the GRU's hidden vector from chunk to chunk:

  mel [1, T, 40] -> [history1 | mel] -> conv (normalisation folded in) -> relu
  -> [history2 | y] -> conv -> relu -> GRU(h) -> linear -> sigmoid -> 12 channels
  + closure -> the animator's lip rule -> channels copied to Left/Right -> [T, 17]

The check runs a random clip through torch at once and through onnxruntime
in uneven chunks; they must agree to 1e-4.

Run: `python -m training.audio2face.export [checkpoint] [model.onnx]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from merg_sdk.motion.animator import LIP_GAP
from merg_sdk.motion.audio2face import features
from merg_sdk.motion.audio2face.model import _FEATURE_KEYS, MODEL_PATH, AudioFaceModel
from training.audio2face.net import (
    CHANNELS,
    CLOSE,
    JAW,
    KERNEL,
    LIPS_APART,
    LOOKAHEAD_FRAMES,
    OUTPUT_CHANNEL,
    OUTPUT_NAMES,
    AudioFaceNet,
)
from training.audio2face.train import CHECKPOINT

OPSET = 17


def _gates_zrh(weight: np.ndarray, hidden: int) -> np.ndarray:
    """torch orders GRU gates (reset, update, new); ONNX wants (update, reset, hidden)."""
    r, z, n = (weight[i * hidden : (i + 1) * hidden] for i in range(3))
    return np.concatenate([z, r, n])


def build_graph(model: AudioFaceNet, meta: dict[str, str]) -> onnx.ModelProto:
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    n_mels, conv, hidden = sd["mean"].shape[0], sd["conv1.weight"].shape[0], model.gru.hidden_size
    hist = KERNEL - 1
    idx = list(OUTPUT_CHANNEL)
    w1 = sd["conv1.weight"] * sd["inv_std"][None, :, None]  # normalisation folded in
    b1 = sd["conv1.bias"] - np.einsum("ock,c->o", w1, sd["mean"])
    inits = {
        "w1": w1, "b1": b1,
        "w2": sd["conv2.weight"], "b2": sd["conv2.bias"],
        "gru_w": _gates_zrh(sd["gru.weight_ih_l0"], hidden)[None],
        "gru_r": _gates_zrh(sd["gru.weight_hh_l0"], hidden)[None],
        "gru_b": np.concatenate([_gates_zrh(sd["gru.bias_ih_l0"], hidden),
                                 _gates_zrh(sd["gru.bias_hh_l0"], hidden)])[None],
        "head_w": np.ascontiguousarray(sd["head.weight"].T), "head_b": sd["head.bias"],
        "one": np.ones(1, np.float32), "lip_gap": np.array([LIP_GAP], np.float32),
        "apart": np.array([c in LIPS_APART for c in CHANNELS], np.float32),
        "jaw_only": np.eye(len(CHANNELS), dtype=np.float32)[JAW],
        "jaw_minus_close": (np.eye(len(CHANNELS)) [JAW] - np.eye(len(CHANNELS))[CLOSE])
        .astype(np.float32)[:, None],
        "split": np.array([len(CHANNELS), 1], np.int64), "to_names": np.array(idx, np.int64),
        "tail_start": np.array([-hist], np.int64), "tail_end": np.array([1 << 30], np.int64),
        "time_axis": np.array([2], np.int64), "seq_shape": np.array([-1, hidden], np.int64),
    }  # fmt: skip
    node = helper.make_node
    nodes = [
        node("Transpose", ["mel"], ["x"], perm=[0, 2, 1]),
        node("Concat", ["conv1_history", "x"], ["x_ext"], axis=2),
        node("Slice", ["x_ext", "tail_start", "tail_end", "time_axis"], ["conv1_history_out"]),
        node("Conv", ["x_ext", "w1", "b1"], ["c1"]),
        node("Relu", ["c1"], ["y"]),
        node("Concat", ["conv2_history", "y"], ["y_ext"], axis=2),
        node("Slice", ["y_ext", "tail_start", "tail_end", "time_axis"], ["conv2_history_out"]),
        node("Conv", ["y_ext", "w2", "b2"], ["c2"]),
        node("Relu", ["c2"], ["z"]),
        node("Transpose", ["z"], ["seq"], perm=[2, 0, 1]),
        node(
            "GRU",
            ["seq", "gru_w", "gru_r", "gru_b", "", "gru_state"],
            ["gru_y", "gru_state_out"],
            hidden_size=hidden,
            linear_before_reset=1,
        ),
        node("Reshape", ["gru_y", "seq_shape"], ["h"]),
        node("Gemm", ["h", "head_w", "head_b"], ["logits"]),
        node("Sigmoid", ["logits"], ["raw"]),
        node("Split", ["raw", "split"], ["w", "closure"], axis=1),
        # the animator's lip rule: w * (1 - closure * apart) - closure * excess * jaw_only
        node("Mul", ["closure", "apart"], ["shut"]),
        node("Sub", ["one", "shut"], ["keep"]),
        node("Mul", ["w", "keep"], ["w_kept"]),
        node("MatMul", ["w", "jaw_minus_close"], ["gap"]),
        node("Sub", ["gap", "lip_gap"], ["gap_over"]),
        node("Relu", ["gap_over"], ["excess"]),
        node("Mul", ["excess", "closure"], ["jaw_drop"]),
        node("Mul", ["jaw_drop", "jaw_only"], ["jaw_drop_row"]),
        node("Sub", ["w_kept", "jaw_drop_row"], ["shut_lips"]),
        node("Gather", ["shut_lips", "to_names"], ["weights"], axis=1),
    ]
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "audio2face",
        [
            helper.make_tensor_value_info("mel", f32, [1, "frames", n_mels]),
            helper.make_tensor_value_info("conv1_history", f32, [1, n_mels, hist]),
            helper.make_tensor_value_info("conv2_history", f32, [1, conv, hist]),
            helper.make_tensor_value_info("gru_state", f32, [1, 1, hidden]),
        ],
        [
            helper.make_tensor_value_info("weights", f32, ["frames", len(idx)]),
            helper.make_tensor_value_info("conv1_history_out", f32, [1, n_mels, hist]),
            helper.make_tensor_value_info("conv2_history_out", f32, [1, conv, hist]),
            helper.make_tensor_value_info("gru_state_out", f32, [1, 1, hidden]),
        ],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="merg_sdk training/audio2face")  # fmt: skip
    proto.ir_version = 8
    helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto)
    return proto


def check(model: AudioFaceNet, path: Path) -> float:
    """Largest difference between torch (whole clip) and onnxruntime (uneven chunks)."""
    rng = np.random.default_rng(0)
    mel = rng.uniform(0, 25, (700, model.mean.shape[0])).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(mel)[None])[0].numpy()[:, list(OUTPUT_CHANNEL)]
    runtime = AudioFaceModel(path)
    state, outs, i = runtime.initial_state(), [], 0
    for size in [1, 2, 3, 50, 7, 300, 1000]:
        out, state = runtime.run(mel[i : i + size], state)
        outs.append(out)
        i += size
    return float(np.abs(np.concatenate(outs) - ref).max())


def main(checkpoint: Path = CHECKPOINT, out: Path = MODEL_PATH) -> None:
    saved = torch.load(checkpoint, weights_only=False)
    state = saved["state"]
    model = AudioFaceNet(
        n_mels=state["mean"].shape[0],
        conv=state["conv1.weight"].shape[0],
        hidden=state["gru.weight_hh_l0"].shape[1],
    )
    model.load_state_dict(state)
    model.eval()
    meta = {
        "names": json.dumps(list(OUTPUT_NAMES)),
        "lookahead_frames": str(LOOKAHEAD_FRAMES),
        "features": json.dumps({k: getattr(features, n) for k, n in _FEATURE_NAMES.items()}),
        "training": json.dumps({k: saved[k] for k in ("step", "val_loss", "val_jaw_r", "minutes")}),
    }
    proto = build_graph(model, meta)
    out.write_bytes(proto.SerializeToString())
    error = check(model, out)
    size_kb = out.stat().st_size / 1024
    print(f"wrote {out} ({size_kb:.0f} KB); torch vs onnxruntime max diff {error:.2e}")
    if error > 1e-4:
        raise SystemExit("export check failed: onnxruntime disagrees with torch")


_FEATURE_NAMES = {
    "sample_rate_hz": "SAMPLE_RATE_HZ", "hop_samples": "HOP_SAMPLES",
    "window_samples": "WINDOW_SAMPLES", "fft_size": "FFT_SIZE", "n_mels": "N_MELS",
    "fmin_hz": "FMIN_HZ", "fmax_hz": "FMAX_HZ", "log_floor": "LOG_FLOOR",
}  # fmt: skip
if set(_FEATURE_NAMES) != set(_FEATURE_KEYS):  # the runtime checks exactly these
    raise RuntimeError("export and runtime disagree on the feature settings to record")

if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:3]))
