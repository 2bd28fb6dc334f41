"""What each ARKit-52 shape does to a face, as bumps at landmarks (data for `regions`).

Apple documents each blendshape by a picture and a sentence, not by
geometry, so this table is our reading of them: for every shape, which
landmarks move, which way, and how far the motion spreads. Offsets and
radii are in units of the interocular distance `d`, so the same table fits
any head size; x is outward (away from the midline) for sided landmarks
(`*`) and towards the head's own left otherwise; y is up, z out of the face.
A bump is confined to a region (`upper`/`lower` lip side of the mouth line,
upper/lower eyelid, brows, the jaw's skinning weights) so that, say,
mouthLowerDown does not drag the upper lip along.
"""

from __future__ import annotations

JAW_OPEN_RAD = 0.35  # ARKit jawOpen = 1: a wide-open mouth, about 20 degrees of hinge
# landmark -> (x, y) from the eyes' midpoint; "mouth_y"/"nose_y" in y mean relative to them
LANDMARKS = {
    "lid_up*": (None, 0.12),
    "lid_low*": (None, -0.14),
    "brow_inner*": (0.2, 0.45),
    "brow_mid*": (0.5, 0.5),
    "brow_outer*": (0.8, 0.42),
    "cheek_up*": (0.55, -0.4),
    "nose_wing*": (0.22, "nose_y-0.05"),
    "mouth": (0.0, "mouth_y"),
    "corner*": (0.4, "mouth_y+0.02"),
    "upper_lip": (0.0, "mouth_y+0.1"),
    "lower_lip": (0.0, "mouth_y-0.13"),
    "upper_lip_side*": (0.2, "mouth_y+0.08"),
    "lower_lip_side*": (0.2, "mouth_y-0.11"),
    "chin": (0.0, "mouth_y-0.65"),
    "cheek*": (0.62, "mouth_y+0.45"),
    "cheek_low*": (0.6, "mouth_y+0.1"),
}
Term = tuple[str, str, tuple[float, float, float], float]  # landmark, region, offset, radius
# ARKit shape (sided ones without Left/Right) -> bumps; a sided landmark in an unsided
# shape (mouthPucker) moves both sides; an empty landmark moves its whole region
SHAPES: dict[str, tuple[Term, ...]] = {
    "eyeBlink": (
        ("lid_up*", "lid_up", (0, -0.17, 0.01), 0.2),
        ("lid_low*", "lid_low", (0, 0.03, 0), 0.15),
    ),
    "eyeLookDown": (("lid_up*", "lid_up", (0, -0.05, 0), 0.2),),
    "eyeLookUp": (
        ("lid_up*", "lid_up", (0, 0.03, 0), 0.2),
        ("brow_mid*", "brow", (0, 0.015, 0), 0.3),
    ),
    "eyeLookIn": (),  # gaze is eye pose
    "eyeLookOut": (),
    "eyeSquint": (
        ("lid_low*", "lid_low", (0, 0.06, 0.01), 0.18),
        ("cheek_up*", "face", (0, 0.03, 0), 0.25),
    ),
    "eyeWide": (("lid_up*", "lid_up", (0, 0.06, 0), 0.2),),
    "jawForward": (("", "jaw", (0, 0, 0.12), 0),),
    "jawLeft": (("", "jaw", (0.15, 0, 0), 0),),
    "jawRight": (("", "jaw", (-0.15, 0, 0), 0),),
    "jawOpen": (),  # a hinge rotation, built in `reference_displacements`
    "mouthClose": (
        ("upper_lip", "upper", (0, -0.05, 0), 0.35),
        ("lower_lip", "lower", (0, 0.1, 0), 0.35),
    ),
    "mouthFunnel": (
        ("corner*", "face", (-0.1, 0, 0.06), 0.25),
        ("upper_lip", "upper", (0, 0.05, 0.1), 0.3),
        ("lower_lip", "lower", (0, -0.06, 0.1), 0.3),
    ),
    "mouthPucker": (
        ("corner*", "face", (-0.15, 0, 0.08), 0.25),
        ("upper_lip", "upper", (0, 0, 0.12), 0.3),
        ("lower_lip", "lower", (0, 0, 0.12), 0.3),
    ),
    "mouthLeft": (("mouth", "face", (0.15, 0, 0), 0.45),),
    "mouthRight": (("mouth", "face", (-0.15, 0, 0), 0.45),),
    "mouthSmile": (
        ("corner*", "face", (0.1, 0.13, -0.03), 0.25),
        ("cheek*", "face", (0.02, 0.05, 0.02), 0.35),
    ),
    "mouthFrown": (("corner*", "face", (0.02, -0.11, 0), 0.25),),
    "mouthDimple": (("corner*", "face", (0.07, 0, -0.05), 0.22),),
    "mouthStretch": (
        ("corner*", "face", (0.11, -0.05, -0.02), 0.25),
        ("lower_lip_side*", "lower", (0.03, -0.03, 0), 0.25),
    ),
    "mouthRollLower": (("lower_lip", "lower", (0, 0.04, -0.08), 0.35),),
    "mouthRollUpper": (("upper_lip", "upper", (0, -0.04, -0.08), 0.35),),
    "mouthShrugLower": (
        ("lower_lip", "lower", (0, 0.06, 0.03), 0.3),
        ("chin", "face", (0, 0.05, 0.03), 0.35),
    ),
    "mouthShrugUpper": (("upper_lip", "upper", (0, 0.05, 0.02), 0.3),),
    "mouthPress": (
        ("upper_lip_side*", "upper", (0, -0.03, 0), 0.2),
        ("lower_lip_side*", "lower", (0, 0.04, 0), 0.2),
        ("corner*", "face", (0.03, 0, 0), 0.2),
    ),
    "mouthLowerDown": (("lower_lip_side*", "lower", (0, -0.11, 0.01), 0.25),),
    "mouthUpperUp": (("upper_lip_side*", "upper", (0, 0.1, 0.01), 0.25),),
    "browDown": (
        ("brow_inner*", "brow", (-0.03, -0.08, 0.01), 0.25),
        ("brow_mid*", "brow", (0, -0.06, 0), 0.3),
    ),
    "browInnerUp": (("brow_inner*", "brow", (0, 0.1, 0), 0.25),),
    "browOuterUp": (("brow_outer*", "brow", (0, 0.1, 0), 0.25),),
    "cheekPuff": (("cheek_low*", "face", (0.12, 0, 0.05), 0.35),),
    "cheekSquint": (("cheek_up*", "face", (0, 0.08, 0.02), 0.3),),
    "noseSneer": (
        ("nose_wing*", "face", (0, 0.07, 0), 0.2),
        ("cheek_up*", "face", (0, 0.02, 0), 0.25),
    ),
    "tongueOut": (),  # FLAME has no tongue
}
