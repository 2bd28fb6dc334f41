"""Retargeting tables: shipped tables load and mean what they say; bad tables fail."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from merg_sdk.motion.retarget import (
    EYE_CHANNELS,
    HEAD_CHANNELS,
    available_retargets,
    canonical_arkit_name,
    load_retarget,
    load_retarget_file,
)
from merg_sdk.motion.rig import load_rig, weight_table

ARKIT = load_rig("arkit52").names
EXPECTED = {"livelink": 61, "facecap": 52, "vrm1": 18, "vrm0": 17, "oculus": 15}
BLENDSHAPES = Path(__file__).resolve().parent.parent / "blendshapes"


def arkit_frame(**weights: float) -> np.ndarray:
    frame = np.zeros((1, len(ARKIT)))
    for name, value in weights.items():
        frame[0, ARKIT.index(name)] = value
    return frame


def out(table: str, frame: np.ndarray, **kw: np.ndarray) -> dict[str, float]:
    retarget = load_retarget(table)
    return dict(zip(retarget.names, retarget.apply(frame, **kw)[0].tolist(), strict=True))


def poses(file: str) -> tuple[tuple[str, ...], np.ndarray]:
    spec = yaml.safe_load((BLENDSHAPES / file).read_text(encoding="utf-8"))
    return weight_table(spec["poses"], load_rig("arkit52"))


@pytest.mark.parametrize(("table", "count"), EXPECTED.items())
def test_each_table_loads_with_its_output_count(table: str, count: int) -> None:
    retarget = load_retarget(table)
    assert retarget.name == table and retarget.description
    assert len(retarget.names) == count == len(set(retarget.names))
    assert retarget.matrix.shape == (len(retarget.inputs), count)
    assert retarget.source_names[: len(ARKIT)] == ARKIT
    assert np.isfinite(retarget.matrix).all()
    assert set(EXPECTED) <= set(available_retargets())


def test_livelink_is_pascal_case_then_head_and_eyes() -> None:
    retarget = load_retarget("livelink")
    shapes, rotations = retarget.names[:52], retarget.names[52:]
    assert sorted(shapes) == sorted(n[0].upper() + n[1:] for n in ARKIT)
    assert shapes[0] == "EyeBlinkLeft" and shapes[-1] == "TongueOut"
    # Live Link Face's CSV puts Right before Left for the jaw and mouth directions
    assert shapes[14:18] == ("JawForward", "JawRight", "JawLeft", "JawOpen")
    assert rotations == (
        "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
        "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
    )  # fmt: skip
    assert retarget.units[:52] == ("weight",) * 52 and retarget.units[52:] == ("radian",) * 9
    assert retarget.inputs[-7:] == HEAD_CHANNELS + EYE_CHANNELS


def test_livelink_copies_weights_and_passes_angles_unclipped() -> None:
    frame = np.linspace(0.0, 1.0, len(ARKIT))[None, :]
    head = np.array([[0.3, 1.2, -0.2]])  # pitch down, yaw to the avatar's left, roll
    eyes = np.array([[0.1, 0.25, 0.12, 0.2]])
    values = out("livelink", frame, head=head, eyes=eyes)
    for i, name in enumerate(ARKIT):
        assert values[name[0].upper() + name[1:]] == pytest.approx(frame[0, i], abs=1e-6)
    assert values["HeadYaw"] == pytest.approx(-1.2)  # beyond 1 and negative: not clipped
    assert values["HeadPitch"] == pytest.approx(0.3)
    assert values["HeadRoll"] == pytest.approx(-0.2)
    assert values["LeftEyeYaw"] == pytest.approx(-0.25)
    assert values["RightEyePitch"] == pytest.approx(0.12)
    assert values["LeftEyeRoll"] == values["RightEyeRoll"] == 0.0
    # without head and eyes the rotations are zero
    assert out("livelink", frame)["HeadYaw"] == 0.0


def test_facecap_uses_suffixes_for_sides_but_not_for_directions() -> None:
    retarget = load_retarget("facecap")
    assert {"eyeBlink_L", "mouthSmile_R", "browOuterUp_L", "jawLeft", "mouthRight"} <= set(
        retarget.names
    )
    assert retarget.names[0] == "browInnerUp" and retarget.names[-1] == "tongueOut"
    assert out("facecap", arkit_frame(eyeBlinkLeft=0.7))["eyeBlink_L"] == pytest.approx(0.7)
    for name in retarget.names:
        assert canonical_arkit_name(name) in ARKIT


@pytest.mark.parametrize(("table", "happy", "aa"), [("vrm1", "happy", "aa"), ("vrm0", "joy", "a")])
def test_vrm_smile_jaw_and_blinks(table: str, happy: str, aa: str) -> None:
    smile = out(table, arkit_frame(mouthSmileLeft=1.0, mouthSmileRight=1.0))
    assert smile[happy] >= 0.8
    assert smile[happy] == max(smile.values())
    jaw = out(table, arkit_frame(jawOpen=1.0))
    vowels = {"vrm1": ("aa", "ih", "ou", "ee", "oh"), "vrm0": ("a", "i", "u", "e", "o")}[table]
    assert jaw[aa] >= 0.8 and max(vowels, key=jaw.__getitem__) == aa
    blink_l, blink_r = ("blinkLeft", "blinkRight") if table == "vrm1" else ("blink_l", "blink_r")
    both = out(table, arkit_frame(eyeBlinkLeft=1.0, eyeBlinkRight=1.0))
    assert both["blink"] == pytest.approx(1.0) and both[blink_l] == both[blink_r] == 0.0
    wink = out(table, arkit_frame(eyeBlinkLeft=1.0))
    assert wink["blink"] + wink[blink_l] == pytest.approx(1.0) and wink[blink_r] == 0.0
    look = out(table, arkit_frame(eyeLookOutLeft=0.8, eyeLookInRight=0.8))
    assert look["lookLeft" if table == "vrm1" else "lookleft"] == pytest.approx(0.8)
    assert out(table, arkit_frame())["neutral"] == 1.0


def test_vrm_emotions_follow_the_motion_stage_poses() -> None:
    names, table = poses("emotions.yaml")
    expected = {"happy": "happy", "sad": "sad", "angry": "angry", "surprised": "surprised"}
    retarget = load_retarget("vrm1")
    emotions = [retarget.index(n) for n in ("happy", "angry", "sad", "relaxed", "surprised")]
    values = retarget.apply(table)
    for pose, vrm in expected.items():
        row = values[names.index(pose)]
        assert retarget.names[emotions[int(np.argmax(row[emotions]))]] == vrm, pose
        assert row[retarget.index(vrm)] >= 0.7, pose
    calm = values[names.index("calm")]
    assert calm[retarget.index("relaxed")] > max(0.2, calm[retarget.index("happy")])


def test_oculus_recovers_each_viseme_pose() -> None:
    names, table = poses("viseme_arkit.yaml")
    retarget = load_retarget("oculus")
    assert retarget.names == load_rig("visemes").names
    values = retarget.apply(table)
    tongue_only = {"DD", "kk", "nn"}  # they differ by the tongue, which ARKit hardly sees
    for pose, row in zip(names, values, strict=True):
        top = retarget.names[int(np.argmax(row))]
        if pose in tongue_only:
            assert top in tongue_only, (pose, top)
        else:
            assert top == pose, (pose, top)
            assert row[retarget.index(pose)] >= 0.85, pose
    emotions, overlays = poses("emotions.yaml")
    faces = retarget.apply(overlays)
    for pose in ("neutral", "happy", "sad", "calm", "caring"):
        assert retarget.names[int(np.argmax(faces[emotions.index(pose)]))] == "sil", pose


def test_apply_is_vectorised_clipped_and_checks_shapes() -> None:
    retarget = load_retarget("vrm1")
    frames = np.random.default_rng(0).uniform(0.0, 1.0, (40, len(ARKIT)))
    values = retarget.apply(frames)
    assert values.shape == (40, 18) and values.dtype == np.float32
    assert values.min() >= 0.0 and values.max() <= 1.0
    row_by_row = np.concatenate([retarget.apply(f[None]) for f in frames])
    np.testing.assert_allclose(values, row_by_row)
    with pytest.raises(ValueError, match=r"\[count, 52\]"):
        retarget.apply(frames[:, :10])
    with pytest.raises(ValueError, match="head"):
        load_retarget("livelink").apply(frames, head=np.zeros((40, 2)))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "table.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
name: tiny
description: two outputs
sources: [arkit52, visemes, head]
names: [Blink, Smile, Turn]
map:
  Blink: {eyeBlinkLeft: 0.5, eyeBlinkRight: 0.5}
  Smile: {weights: {mouthSmileLeft: 1.0, aa: -0.5}, offset: 0.1, clamp: [0.0, 0.5]}
  Turn: {unit: radian, weights: {head_yaw: 2.0}}
"""


def test_a_table_may_read_visemes_and_set_offset_and_clamp(tmp_path: Path) -> None:
    retarget = load_retarget_file(write(tmp_path, GOOD))
    visemes = load_rig("visemes").names
    assert retarget.source_names == ARKIT + visemes
    frame = np.zeros((1, len(ARKIT) + len(visemes)))
    frame[0, ARKIT.index("mouthSmileLeft")] = 1.0
    assert retarget.apply(frame)[0, 1] == pytest.approx(0.5)  # 1.1 clamped to 0.5
    frame[0, len(ARKIT) + visemes.index("aa")] = 1.0
    assert retarget.apply(frame)[0, 1] == pytest.approx(0.5)  # 0.6 still clamped
    turned = retarget.apply(frame, head=np.array([[0.0, -1.0, 0.0]]))
    assert turned[0, 2] == pytest.approx(-2.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("eyeBlinkLeft: 0.5,", "eyeBlinkLeftt: 0.5,"), "unknown source names"),
        (("[Blink, Smile, Turn]", "[Blink, Smile, Turn, Blink]"), "more than once"),
        (("  Turn: {unit", "  Blink: {eyeBlinkLeft: 1.0}\n  Turn: {unit"), "duplicate key"),
        (("head_yaw: 2.0", "head_yaw: .inf"), "finite"),
        (("offset: 0.1", "offset: .nan"), "finite"),
        (("[Blink, Smile, Turn]", "[Blink, Smile, Turn, Nod]"), "without a map entry"),
        (("[Blink, Smile, Turn]", "[Blink, Smile]"), "not in names"),
        (("[arkit52, visemes, head]", "[arkit52, visemes, face]"), "unknown sources"),
        (("[arkit52, visemes, head]", "[arkit52, visemes]"), "unknown source names"),
        (("head_yaw: 2.0", "head_yaw: 2.0, jawOpen: 1.0"), "radian output"),
        (("clamp: [0.0, 0.5]", "clamp: [0.5, 0.0]"), "increasing"),
    ],
)
def test_bad_tables_are_rejected(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in GOOD
    with pytest.raises(ValueError, match=message):
        load_retarget_file(write(tmp_path, GOOD.replace(*change)))


def test_unknown_table_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ValueError, match="livelink"):
        load_retarget("nope")


@pytest.mark.parametrize("name", ARKIT)
def test_alias_resolution_round_trips(name: str) -> None:
    pascal = name[0].upper() + name[1:]
    suffixed = name
    if name.endswith("Left"):
        suffixed = name[:-4] + "_L"
    elif name.endswith("Right"):
        suffixed = name[:-5] + "_R"
    snake = "".join("_" + c.lower() if c.isupper() else c for c in name)
    for alias in (name, pascal, name.lower(), name.upper(), suffixed, snake, f"blendShape1.{name}"):
        assert canonical_arkit_name(alias) == name, alias


def test_alias_resolution_rejects_other_names() -> None:
    assert canonical_arkit_name("eyeBlink.L") == "eyeBlinkLeft"
    assert canonical_arkit_name("Face:mouthSmile_r") == "mouthSmileRight"
    for name in ("HeadYaw", "aa", "blink", "", "eyeBlink"):
        assert canonical_arkit_name(name) is None, name
