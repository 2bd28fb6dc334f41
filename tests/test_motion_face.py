"""Viseme poses and emotion overlays: real arkit52 names, sane shapes."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from merg_sdk.data import blendshapes_file
from merg_sdk.motion import EMOTIONS, load_rig
from merg_sdk.motion.face import load_emotions, viseme_poses

ARKIT = load_rig("arkit52")
VIS = load_rig("visemes").names


def pose(name: str) -> dict[str, float]:
    return dict(zip(ARKIT.names, viseme_poses()[VIS.index(name)], strict=True))


def test_every_name_in_the_tables_is_an_arkit52_name() -> None:
    for file in ("viseme_arkit.yaml", "emotions.yaml"):
        spec = yaml.safe_load(blendshapes_file(file).read_text(encoding="utf-8"))
        for key, weights in spec["poses"].items():
            assert set(weights or {}) <= set(ARKIT.names), (file, key)


def test_viseme_poses_shape_and_key_shapes() -> None:
    table = viseme_poses()
    assert table.shape == (15, 52) and table.min() >= 0 and table.max() <= 1
    assert not table[VIS.index("sil")].any()
    pp = pose("PP")
    assert pp["jawOpen"] == pp["mouthClose"] and pp["mouthPressLeft"] > 0
    assert 0.6 <= pose("aa")["jawOpen"] <= 0.7
    assert pose("ou")["mouthPucker"] > 0.5 and pose("ou")["jawOpen"] < 0.2
    assert pose("oh")["mouthFunnel"] > 0.3 and pose("TH")["tongueOut"] > 0
    assert pose("FF")["mouthRollLower"] > 0.3


def test_emotions_cover_the_required_set() -> None:
    required = {"neutral", "happy", "sad", "angry", "afraid", "surprised", "disgusted", "calm"}
    assert required | {"caring"} <= set(EMOTIONS)
    table = load_emotions()
    assert not table.pose("neutral").any()
    happy = dict(zip(ARKIT.names, table.pose("happy"), strict=True))
    assert happy["mouthSmileLeft"] > 0.3 and happy["cheekSquintLeft"] > 0
    assert table.articulated[ARKIT.index("jawOpen")] and not table.articulated[0]
    with pytest.raises(ValueError, match=r"unknown emotion 'glee'.*happy"):
        table.pose("glee")


def test_tables_with_unknown_names_are_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "emotions.yaml"
    bad.write_text("rig: arkit52\nposes:\n  neutral: {}\n  happy: {mouthSmile_L: 0.5}\n")
    with pytest.raises(ValueError, match="'mouthSmile_L' is not a arkit52 name"):
        load_emotions(bad)
    spec = yaml.safe_load(blendshapes_file("viseme_arkit.yaml").read_text(encoding="utf-8"))
    spec["poses"]["aa"]["jawOpenn"] = 0.3
    bad = tmp_path / "visemes.yaml"
    bad.write_text(yaml.safe_dump(spec, allow_unicode=True))
    with pytest.raises(ValueError, match="'jawOpenn'"):
        viseme_poses(bad)
    del spec["poses"]["aa"]
    bad.write_text(yaml.safe_dump(spec, allow_unicode=True))
    with pytest.raises(ValueError, match="exactly the 15 visemes"):
        viseme_poses(bad)


def test_overlays_are_whole_face() -> None:
    table = load_emotions()
    for name in EMOTIONS:
        if name in ("neutral", "calm"):
            continue
        upper = table.pose(name)[~table.articulated]
        assert np.any(upper > 0), f"{name} has no brows/eyes/cheeks"
