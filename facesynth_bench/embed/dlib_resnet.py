"""The `dlib` embedder: dlib's face recognition ResNet (128-d) from face-recognition-models.

Each image is brought to `size` x `size` pixels; the 5-point shape predictor runs on a
face box, dlib cuts a 150x150 chip aligned on those 5 points (padding 0.25, dlib's
default) and the ResNet embeds all chips of a batch in one call. Box policy:
- `fixed-box` (default, for tightly cropped or aligned faces such as synthetic ones):
  the box is (8, 8)-(142, 142) of the 150x150 image, scaled with `size`; no detector.
- `detect`: dlib's HOG frontal face detector, largest face; where it finds none the
  fixed box is used and the image is counted in `stats()["detector_fallback"]`.
The descriptors are L2-normalised (dlib's raw ones have norm ~0.4-0.6).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from facesynth_bench.atomic_files import sha256_file
from facesynth_bench.data.dlib_models import dlib_model_path, import_dlib
from facesynth_bench.embed.base import Embedder, l2_normalise
from facesynth_bench.errors import FsbenchError

BOX_MODES = ("fixed-box", "detect")
CHIP_SIZE = 150
_FIXED_BOX_150 = (8, 142)


class DlibEmbedder(Embedder):
    """dlib_face_recognition_resnet_model_v1 on 5-point-aligned 150x150 chips."""

    name = "dlib"
    dim = 128
    normalisation = "RGB uint8 chip 150x150 (dlib normalises inside); output L2-normalised"

    def __init__(self, box: str = "fixed-box", size: int = CHIP_SIZE, jitters: int = 0) -> None:
        if box not in BOX_MODES:
            raise FsbenchError(f"dlib box mode {box!r}: expected one of {', '.join(BOX_MODES)}")
        if size < 32:
            raise FsbenchError(f"dlib input size {size}: must be at least 32 pixels")
        dlib = import_dlib()
        self._dlib = dlib
        self.box = box
        self.size = size
        self.input_size = (size, size)
        self.jitters = jitters
        model = dlib_model_path("dlib_face_recognition_resnet_model_v1.dat")
        shape = dlib_model_path("shape_predictor_5_face_landmarks.dat")
        self.model_sha256 = sha256_file(model)
        self._recogniser = dlib.face_recognition_model_v1(str(model))
        self._predictor = dlib.shape_predictor(str(shape))
        self._detector = dlib.get_frontal_face_detector() if box == "detect" else None
        low, high = (round(v * size / CHIP_SIZE) for v in _FIXED_BOX_150)
        self._fixed_box = dlib.rectangle(low, low, high, high)
        self._stats = {"images": 0, "detector_fallback": 0}

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "box": self.box,
            "jitters": self.jitters,
            "checkpoint_sha256": self.model_sha256,
        }

    def stats(self) -> dict[str, int]:
        """Counts since creation: images embedded and detector misses that used the box."""
        return dict(self._stats)

    def _face_box(self, image: np.ndarray):
        if self._detector is None:
            return self._fixed_box
        faces = list(self._detector(image, 1))
        if not faces:
            self._stats["detector_fallback"] += 1
            return self._fixed_box
        return max(faces, key=lambda rect: rect.area())

    def chips(self, images: np.ndarray) -> list[np.ndarray]:
        """The 150x150 aligned chips dlib's ResNet sees, one per image."""
        chips = []
        for image in images:
            shape = self._predictor(image, self._face_box(image))
            chips.append(self._dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=0.25))
        return chips

    def embed(self, images: np.ndarray) -> np.ndarray:
        self.check_batch(images)
        if len(images) == 0:
            return np.zeros((0, self.dim), np.float32)
        images = np.ascontiguousarray(images)
        descriptors = self._recogniser.compute_face_descriptor(self.chips(images), self.jitters)
        self._stats["images"] += len(images)
        return l2_normalise(np.asarray([np.asarray(d) for d in descriptors]))


def create_dlib(
    checkpoint: Path | None,
    device: str = "auto",
    precision: str = "auto",
    box: str = "fixed-box",
    size: int = CHIP_SIZE,
    jitters: int = 0,
) -> DlibEmbedder:
    """Registry factory: dlib runs on the CPU and ships its own weights (no checkpoint)."""
    if checkpoint is not None:
        raise FsbenchError(
            f"checkpoint {checkpoint}: the dlib embedder uses the weights of "
            "face-recognition-models and takes no checkpoint"
        )
    if device not in ("auto", "cpu"):
        raise FsbenchError(f"device {device!r}: the dlib embedder runs on the CPU only")
    return DlibEmbedder(box=box, size=size, jitters=jitters)
