"""Synthetic hand images with a known answer, for tests and the benchmark.

A hand is a skin-coloured palm disc, a wrist band going down, and N finger
bars spread over the upper half-plane. Background, colour noise, scale,
position and rotation vary so that the recognizer is not tested on one
picture.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

SKIN_BGR = (120, 160, 220)
BACKGROUND_BGR = (60, 50, 40)

Image = npt.NDArray[np.uint8]


def draw_hand(
    fingers: int,
    *,
    width: int = 640,
    height: int = 480,
    centre: tuple[float, float] = (0.5, 0.6),
    palm_radius: int = 60,
    rotation_deg: float = 0.0,
    noise_sigma: float = 0.0,
    wrist: bool = True,
    seed: int = 0,
    skin_bgr: tuple[int, int, int] = SKIN_BGR,
    background_bgr: tuple[int, int, int] = BACKGROUND_BGR,
) -> Image:
    """A BGR frame showing a hand with `fingers` extended fingers (0..5)."""
    img = np.full((height, width, 3), background_bgr, dtype=np.uint8)
    cx, cy = int(centre[0] * width), int(centre[1] * height)
    r = palm_radius
    cv2.circle(img, (cx, cy), r, skin_bgr, thickness=-1, lineType=cv2.LINE_AA)
    up = -90.0 + rotation_deg
    if wrist:
        angle = math.radians(up + 180)
        end = (int(cx + 2.6 * r * math.cos(angle)), int(cy + 2.6 * r * math.sin(angle)))
        cv2.line(img, (cx, cy), end, skin_bgr, thickness=int(1.5 * r))
    if fingers:
        spread = [0.0] if fingers == 1 else list(np.linspace(-64, 64, fingers))
        finger_w = max(4, int(0.36 * r))
        for offset in spread:
            angle = math.radians(up + offset)
            length = 2.5 * r
            tip = (int(cx + length * math.cos(angle)), int(cy + length * math.sin(angle)))
            cv2.line(img, (cx, cy), tip, skin_bgr, thickness=finger_w, lineType=cv2.LINE_AA)
    if noise_sigma:
        rng = np.random.default_rng(seed)
        noisy = img.astype(np.float32) + rng.normal(0, noise_sigma, img.shape).astype(np.float32)
        img = np.clip(noisy, 0, 255).astype(np.uint8)
    return img


def noise_image(width: int = 640, height: int = 480, seed: int = 0) -> Image:
    """Uniform colour noise: no hand in it."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def encode(img: Image, ext: str = ".jpg", quality: int = 90) -> bytes:
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext == ".jpg" else []
    ok, buf = cv2.imencode(ext, img, params)
    if not ok:
        raise ValueError(f"cannot encode image as {ext}")
    return bytes(buf.tobytes())
