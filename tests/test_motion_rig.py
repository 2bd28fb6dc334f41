"""Rig files: names, order, validation of rigs and of named weight tables."""

from pathlib import Path

import pytest

from merg_sdk.motion import Rig, available_rigs, load_rig
from merg_sdk.motion.rig import load_rig_file, weight_table

APPLE_ORDER = [
    "eyeBlinkLeft",
    "eyeLookDownLeft",
    "eyeLookInLeft",
    "eyeLookOutLeft",
    "eyeLookUpLeft",
    "eyeSquintLeft",
    "eyeWideLeft",
    "eyeBlinkRight",
    "eyeLookDownRight",
    "eyeLookInRight",
    "eyeLookOutRight",
    "eyeLookUpRight",
    "eyeSquintRight",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawRight",
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthLeft",
    "mouthRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
]


def test_arkit52_is_apples_52_names_in_documented_order() -> None:
    rig = load_rig("arkit52")
    assert isinstance(rig, Rig)
    assert rig.name == "arkit52"
    assert len(rig.names) == 52 == len(set(rig.names))
    assert rig.names == tuple(APPLE_ORDER)
    assert rig.names[0] == "eyeBlinkLeft" and rig.names[-1] == "tongueOut"
    assert rig.value_range == (0.0, 1.0)
    assert rig.description


def test_visemes_rig_is_the_oculus_15_in_order() -> None:
    rig = load_rig("visemes")
    assert rig.names == tuple(
        ["sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou"]
    )


def test_available_rigs_lists_shipped_files() -> None:
    assert {"arkit52", "visemes"} <= set(available_rigs())


def test_unknown_rig_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown rig 'nope'"):
        load_rig("nope")


@pytest.mark.parametrize(
    "names", ["[a, b, a]", "[]", "['', b]"], ids=["duplicate", "empty", "blank"]
)
def test_bad_rig_files_are_rejected(tmp_path: Path, names: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\nnames: {names}\n")
    with pytest.raises(ValueError):
        load_rig_file(path)


def test_index_of_foreign_name_raises_key_error() -> None:
    with pytest.raises(KeyError, match="not a arkit52 name"):
        load_rig("arkit52").index("mouthSmile")


def test_weight_table_rejects_unknown_names_and_out_of_range() -> None:
    rig = load_rig("arkit52")
    keys, table = weight_table({"x": {"jawOpen": 0.5}, "y": {}}, rig)
    assert keys == ("x", "y") and table.shape == (2, 52)
    assert table[0, rig.index("jawOpen")] == 0.5 and table.sum() == 0.5
    with pytest.raises(ValueError, match="'jawOpenn' is not a arkit52 name"):
        weight_table({"x": {"jawOpenn": 0.5}}, rig)
    with pytest.raises(ValueError, match="outside"):
        weight_table({"x": {"jawOpen": 1.5}}, rig)
