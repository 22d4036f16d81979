"""The OpenCV recognizer on generated images whose answer is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from dixi_devtools.handgen import draw_hand, encode, noise_image
from dixi_vision.gestures import GESTURE_BY_FINGERS, GestureRecognizer

recognizer = GestureRecognizer()

VARIANTS = [
    pytest.param({}, id="upright"),
    pytest.param({"rotation_deg": -25}, id="tilted-left"),
    pytest.param({"rotation_deg": 25}, id="tilted-right"),
    pytest.param({"palm_radius": 40, "centre": (0.3, 0.55)}, id="small-left"),
    pytest.param({"palm_radius": 75, "centre": (0.6, 0.62)}, id="large"),
    pytest.param({"noise_sigma": 10, "seed": 7}, id="sensor-noise"),
    pytest.param({"wrist": False}, id="no-wrist"),
    pytest.param({"width": 320, "height": 240, "palm_radius": 30}, id="low-res"),
]


@pytest.mark.parametrize("fingers", range(6))
@pytest.mark.parametrize("variant", VARIANTS)
def test_each_finger_count_is_recognized_as_its_gesture(fingers: int, variant: dict) -> None:
    result = recognizer.recognize(draw_hand(fingers, **variant))
    expected = GESTURE_BY_FINGERS[fingers]
    assert result.hand_found, f"a hand with {fingers} fingers ({variant}) was not found"
    assert result.gesture == expected, (
        f"{fingers} fingers ({variant}) read as {result.gesture}, circles saw {result.circle_counts}"
    )
    assert 0.5 <= result.confidence <= 1.0, f"confidence {result.confidence} is implausible"


def test_recognition_survives_jpeg_compression() -> None:
    data = encode(draw_hand(2, noise_sigma=6), ".jpg", quality=60)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert recognizer.recognize(img).gesture == "peace", "JPEG artefacts broke a peace sign"


@pytest.mark.parametrize("seed", range(4))
def test_colour_noise_contains_no_hand(seed: int) -> None:
    result = recognizer.recognize(noise_image(seed=seed))
    assert not result.hand_found, f"uniform noise (seed {seed}) was taken for a {result.gesture}"
    assert result.gesture is None and result.confidence == 0.0, "no hand must mean no gesture"


def test_an_empty_scene_contains_no_hand() -> None:
    blank = np.full((480, 640, 3), (60, 50, 40), np.uint8)
    assert not recognizer.recognize(blank).hand_found, "a plain background was taken for a hand"


def test_a_speck_of_skin_colour_is_not_a_hand() -> None:
    img = np.full((480, 640, 3), (60, 50, 40), np.uint8)
    cv2.circle(img, (100, 100), 12, (120, 160, 220), -1)
    assert not recognizer.recognize(img).hand_found, "a 12 px blob passed the minimum hand size"


def test_hand_position_is_the_palm_centre_as_a_share_of_the_frame() -> None:
    result = recognizer.recognize(draw_hand(5, centre=(0.25, 0.7), palm_radius=45))
    assert result.hand_x is not None and result.hand_y is not None
    assert abs(result.hand_x - 0.25) < 0.05, f"x {result.hand_x} is not near 0.25"
    assert abs(result.hand_y - 0.7) < 0.05, f"y {result.hand_y} is not near 0.7"


def test_skin_tones_other_than_the_default_drawing_are_segmented() -> None:
    darker = (70, 100, 150)  # BGR of a darker skin tone, still inside the Cr/Cb box
    result = recognizer.recognize(draw_hand(3, skin_bgr=darker))
    assert result.gesture == "three", f"darker skin read as {result.gesture}"
