"""Hand gesture recognition with classic OpenCV, no learned model.

Method (documented with its limits in app/vision/README.md):

1. Skin segmentation in YCrCb space (fixed Cr/Cb box), then morphological
   opening and closing to remove speckle and fill holes.
2. The largest skin blob is the hand; below a minimum share of the frame
   there is no hand.
3. The palm centre is the maximum of the distance transform of the hand
   mask; its value is the palm radius r.
4. Fingers are counted on circles of radius 1.5r, 1.75r and 2.0r around the
   palm centre: every run of hand pixels on the circle narrower than a finger
   (arc < 0.9r) is one finger; a wider run is the wrist or forearm and is
   ignored.
5. The count seen on most circles is the answer; confidence is the share of
   circles that agree times the share of skin pixels that belong to the hand.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

GESTURE_BY_FINGERS: dict[int, str] = {
    0: "fist",
    1: "point",
    2: "peace",
    3: "three",
    4: "four",
    5: "open_palm",
}
GESTURES: tuple[str, ...] = tuple(GESTURE_BY_FINGERS.values())

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class SkinModel:
    """The Cr/Cb box that counts as skin; tunable from MODELS_DIR."""

    cr_min: int = 133
    cr_max: int = 173
    cb_min: int = 77
    cb_max: int = 127


@dataclass(frozen=True)
class Recognition:
    hand_found: bool
    gesture: str | None
    fingers: int | None
    confidence: float
    hand_x: float | None
    hand_y: float | None
    width: int
    height: int
    processing_ms: float
    circle_counts: tuple[int, ...] = field(default=())


@dataclass
class GestureRecognizer:
    skin: SkinModel = field(default_factory=SkinModel)
    min_hand_fraction: float = 0.01
    radii: tuple[float, ...] = (1.5, 1.75, 2.0)
    max_finger_arc: float = 0.9
    samples: int = 360

    def skin_mask(self, bgr: Image) -> Image:
        ycrcb = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
        lower = np.array([0, self.skin.cr_min, self.skin.cb_min], dtype=np.uint8)
        upper = np.array([255, self.skin.cr_max, self.skin.cb_max], dtype=np.uint8)
        mask = cv2.inRange(ycrcb, lower, upper)
        # Kernel scaled to the frame so that speckle of a few pixels never
        # survives, whatever the resolution.
        k = max(3, (min(bgr.shape[:2]) // 100) | 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
        return np.asarray(mask, dtype=np.uint8)

    def recognize(self, bgr: Image) -> Recognition:
        started = time.perf_counter()
        height, width = bgr.shape[:2]
        mask = self.skin_mask(bgr)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            return self._nothing(width, height, started)
        hand = max(contours, key=cv2.contourArea)
        hand_area = float(cv2.contourArea(hand))
        if hand_area < self.min_hand_fraction * width * height:
            return self._nothing(width, height, started)

        hand_mask = np.zeros_like(mask)
        cv2.drawContours(hand_mask, [hand], -1, 255, thickness=cv2.FILLED)
        dist = cv2.distanceTransform(hand_mask, cv2.DIST_L2, 5)
        _, radius, _, centre = cv2.minMaxLoc(dist)
        cx, cy = centre
        counts = tuple(
            self._fingers_on_circle(hand_mask, cx, cy, radius * k, radius) for k in self.radii
        )
        fingers, votes = Counter(counts).most_common(1)[0]
        fingers = min(fingers, 5)
        skin_total = float(np.count_nonzero(mask))
        dominance = min(1.0, float(np.count_nonzero(hand_mask)) / skin_total) if skin_total else 0.0
        confidence = round((votes / len(counts)) * dominance, 3)
        return Recognition(
            hand_found=True,
            gesture=GESTURE_BY_FINGERS[fingers],
            fingers=fingers,
            confidence=confidence,
            hand_x=round(cx / width, 4),
            hand_y=round(cy / height, 4),
            width=width,
            height=height,
            processing_ms=round((time.perf_counter() - started) * 1000, 3),
            circle_counts=counts,
        )

    def _fingers_on_circle(
        self, mask: Image, cx: float, cy: float, circle_r: float, palm_r: float
    ) -> int:
        height, width = mask.shape[:2]
        angles = np.linspace(0.0, 2 * math.pi, self.samples, endpoint=False)
        xs = np.rint(cx + circle_r * np.cos(angles)).astype(np.int64)
        ys = np.rint(cy + circle_r * np.sin(angles)).astype(np.int64)
        inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
        on = np.zeros(self.samples, dtype=bool)
        on[inside] = mask[ys[inside], xs[inside]] > 0
        if on.all() or not on.any():
            return 0
        # Rotate so that the sequence starts on an "off" sample: runs then
        # never wrap around the end of the array.
        start = int(np.argmin(on))
        ring = np.roll(on, -start)
        step_arc = 2 * math.pi * circle_r / self.samples
        fingers = 0
        run = 0
        for value in np.append(ring, False):
            if value:
                run += 1
                continue
            if run:
                arc = run * step_arc
                if run >= 2 and arc <= self.max_finger_arc * palm_r:
                    fingers += 1
                run = 0
        return fingers

    @staticmethod
    def _nothing(width: int, height: int, started: float) -> Recognition:
        return Recognition(
            hand_found=False,
            gesture=None,
            fingers=None,
            confidence=0.0,
            hand_x=None,
            hand_y=None,
            width=width,
            height=height,
            processing_ms=round((time.perf_counter() - started) * 1000, 3),
        )
