"""Named index sets of the 478-point MediaPipe face mesh (``refine_landmarks=True``).

"Left" and "right" are the SUBJECT's sides, as in MediaPipe's own naming: for a person facing
the camera, ``RIGHT_EYE`` is on the image's left. Ordered tuples run along the curve they
name (so they can be drawn as polylines); unordered sets are tuples sorted by index.

Indices 0..467 are the face mesh, 468..477 the irises (468 / 473 are the right / left iris
centres). The ordered curves were checked against ``mediapipe.python.solutions.
face_mesh_connections`` (see tests/test_landmarks.py).
"""

from __future__ import annotations

N_POINTS = 478
"""Points per face with refined (iris) landmarks."""

# --- contour -----------------------------------------------------------------------------------
FACE_OVAL: tuple[int, ...] = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)
"""The face outline, clockwise in the image from the top of the forehead (10) via the chin (152)."""

JAW: tuple[int, ...] = (
    234,
    93,
    132,
    58,
    172,
    136,
    150,
    149,
    176,
    148,
    152,
    377,
    400,
    378,
    379,
    365,
    397,
    288,
    361,
    323,
    454,
)
"""Lower half of the oval, image-left ear level (234) round the chin to image-right (454)."""

CHIN: tuple[int, ...] = (
    18,
    32,
    83,
    140,
    148,
    152,
    170,
    171,
    175,
    176,
    199,
    200,
    201,
    208,
    262,
    313,
    369,
    377,
    395,
    396,
    400,
    421,
    428,
)
"""Chin and mentalis area below the lower lip (unordered)."""

# --- lips --------------------------------------------------------------------------------------
LIPS_OUTER_UPPER: tuple[int, ...] = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
"""Outer edge of the upper lip, right mouth corner (61) to left corner (291); 0 = top centre."""
LIPS_OUTER_LOWER: tuple[int, ...] = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
"""Outer edge of the lower lip, corner 61 to corner 291; 17 = bottom centre."""
LIPS_INNER_UPPER: tuple[int, ...] = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
"""Inner edge of the upper lip (the mouth opening's top), 78 to 308; 13 = centre."""
LIPS_INNER_LOWER: tuple[int, ...] = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
"""Inner edge of the lower lip (the mouth opening's bottom), 78 to 308; 14 = centre."""
LIPS_OUTER: tuple[int, ...] = LIPS_OUTER_UPPER + tuple(reversed(LIPS_OUTER_LOWER[1:-1]))
"""Closed outer lip polygon."""
LIPS_INNER: tuple[int, ...] = LIPS_INNER_UPPER + tuple(reversed(LIPS_INNER_LOWER[1:-1]))
"""Closed inner lip polygon (the mouth opening)."""
LIPS: tuple[int, ...] = tuple(sorted(set(LIPS_OUTER) | set(LIPS_INNER)))
"""All 40 lip contour points."""
MOUTH_CORNER_RIGHT = 61
MOUTH_CORNER_LEFT = 291
INNER_CORNER_RIGHT = 78
INNER_CORNER_LEFT = 308
UPPER_LIP_TOP = 0
UPPER_LIP_INNER = 13
LOWER_LIP_INNER = 14
LOWER_LIP_BOTTOM = 17

# --- eyes --------------------------------------------------------------------------------------
RIGHT_EYE_UPPER: tuple[int, ...] = (33, 246, 161, 160, 159, 158, 157, 173, 133)
"""Upper lid of the subject's right eye (image left), outer corner 33 to inner corner 133."""
RIGHT_EYE_LOWER: tuple[int, ...] = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER: tuple[int, ...] = (263, 466, 388, 387, 386, 385, 384, 398, 362)
"""Upper lid of the subject's left eye (image right), outer corner 263 to inner corner 362."""
LEFT_EYE_LOWER: tuple[int, ...] = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_EYE: tuple[int, ...] = RIGHT_EYE_UPPER + tuple(reversed(RIGHT_EYE_LOWER[1:-1]))
"""Closed polygon of the right eye opening."""
LEFT_EYE: tuple[int, ...] = LEFT_EYE_UPPER + tuple(reversed(LEFT_EYE_LOWER[1:-1]))
"""Closed polygon of the left eye opening."""
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (263, 362)
RIGHT_EYE_TOP_BOTTOM = (159, 145)
LEFT_EYE_TOP_BOTTOM = (386, 374)

RIGHT_IRIS: tuple[int, ...] = (468, 469, 470, 471, 472)
"""Right iris: centre 468 then 4 points on its rim."""
LEFT_IRIS: tuple[int, ...] = (473, 474, 475, 476, 477)
"""Left iris: centre 473 then 4 points on its rim."""
RIGHT_IRIS_CENTER = 468
LEFT_IRIS_CENTER = 473

RIGHT_UPPER_LID_FOLD: tuple[int, ...] = (226, 247, 30, 29, 27, 28, 56, 190, 243)
"""The crease / skin above the right upper lid (second ring above the lid margin), outer to inner."""
LEFT_UPPER_LID_FOLD: tuple[int, ...] = (446, 467, 260, 259, 257, 258, 286, 414, 463)
RIGHT_LOWER_LID_SKIN: tuple[int, ...] = (226, 25, 110, 24, 23, 22, 26, 112, 243)
"""Skin ring just below the right lower lid, outer to inner."""
LEFT_LOWER_LID_SKIN: tuple[int, ...] = (446, 255, 339, 254, 253, 252, 256, 341, 463)

# --- brows -------------------------------------------------------------------------------------
RIGHT_BROW_UPPER: tuple[int, ...] = (70, 63, 105, 66, 107)
"""Upper edge of the right brow, outer (70) to inner (107)."""
RIGHT_BROW_LOWER: tuple[int, ...] = (46, 53, 52, 65, 55)
"""Lower edge of the right brow, outer (46) to inner (55)."""
LEFT_BROW_UPPER: tuple[int, ...] = (300, 293, 334, 296, 336)
LEFT_BROW_LOWER: tuple[int, ...] = (276, 283, 282, 295, 285)
RIGHT_BROW: tuple[int, ...] = RIGHT_BROW_UPPER + RIGHT_BROW_LOWER
LEFT_BROW: tuple[int, ...] = LEFT_BROW_UPPER + LEFT_BROW_LOWER
RIGHT_BROW_INNER: tuple[int, ...] = (107, 66, 55, 65)
RIGHT_BROW_OUTER: tuple[int, ...] = (70, 63, 46, 53)
LEFT_BROW_INNER: tuple[int, ...] = (336, 296, 285, 295)
LEFT_BROW_OUTER: tuple[int, ...] = (300, 293, 276, 283)

GLABELLA: tuple[int, ...] = (8, 9, 55, 107, 151, 168, 193, 285, 336, 417)
"""Between the brows (where AU4 knits vertical lines)."""
FOREHEAD: tuple[int, ...] = (
    9,
    10,
    21,
    54,
    67,
    68,
    69,
    71,
    103,
    104,
    108,
    109,
    151,
    251,
    284,
    297,
    298,
    299,
    301,
    332,
    333,
    337,
    338,
)
"""Forehead above the brows, up to the top of the oval (unordered)."""

# --- nose --------------------------------------------------------------------------------------
NOSE_BRIDGE: tuple[int, ...] = (168, 6, 197, 195, 5, 4)
"""Midline of the nose from between the eyes (168) to just above the tip (4)."""
NOSE_TIP = 1
NOSE: tuple[int, ...] = (
    1,
    2,
    4,
    5,
    6,
    19,
    45,
    48,
    64,
    94,
    97,
    98,
    115,
    168,
    195,
    197,
    220,
    275,
    278,
    294,
    326,
    327,
    344,
    440,
)
"""MediaPipe's nose contour set (bridge, tip, alae)."""
NOSE_SIDE_RIGHT: tuple[int, ...] = (193, 122, 196, 3, 51, 45, 44, 1)
NOSE_SIDE_LEFT: tuple[int, ...] = (417, 351, 419, 248, 281, 275, 274, 1)
NOSE_WRINKLE: tuple[int, ...] = (6, 122, 196, 197, 351, 419, 188, 412, 174, 399)
"""Upper nose sides where AU9 (nose wrinkler) creases the skin."""
ALA_RIGHT: tuple[int, ...] = (64, 98, 129, 48, 102, 49, 240, 235)
"""Right nostril wing."""
ALA_LEFT: tuple[int, ...] = (294, 327, 358, 278, 331, 279, 460, 455)
PHILTRUM: tuple[int, ...] = (0, 11, 12, 164, 165, 167, 37, 267, 391, 393, 2)

# --- cheeks and folds --------------------------------------------------------------------------
RIGHT_CHEEK: tuple[int, ...] = (
    36,
    47,
    50,
    100,
    101,
    116,
    117,
    118,
    119,
    120,
    121,
    123,
    126,
    142,
    147,
    187,
    203,
    205,
    206,
    207,
    213,
    216,
)
"""The right cheek (malar area down to beside the mouth), unordered."""
LEFT_CHEEK: tuple[int, ...] = (
    266,
    277,
    280,
    329,
    330,
    345,
    346,
    347,
    348,
    349,
    350,
    352,
    355,
    371,
    376,
    411,
    423,
    425,
    426,
    427,
    433,
    436,
)
NASOLABIAL_RIGHT: tuple[int, ...] = (129, 203, 206, 216, 57)
"""Approximate course of the right nasolabial fold: nose wing (129) down to beside the mouth corner."""
NASOLABIAL_LEFT: tuple[int, ...] = (358, 423, 426, 436, 287)

# --- groups ------------------------------------------------------------------------------------
RIGID: tuple[int, ...] = tuple(
    sorted(set(NOSE_BRIDGE) | {1, 2, 8, 9, 168, 33, 133, 263, 362, 234, 454, 127, 356, 10, 151})
)
"""Points that barely move with expression (nose bridge, eye corners, temples): for pose and alignment."""

IDENTITY: tuple[int, ...] = tuple(sorted(set(FACE_OVAL) | set(NOSE_BRIDGE)))
"""Points an expression edit must keep in place (face contour + nose bridge): identity."""


def all_named() -> dict[str, tuple[int, ...]]:
    """Every index tuple of this module by name (for docs, drawing and tests)."""
    return {
        k: v
        for k, v in globals().items()
        if k.isupper()
        and isinstance(v, tuple)
        and all(isinstance(i, int) for i in v)
        and len(v) > 2
    }
