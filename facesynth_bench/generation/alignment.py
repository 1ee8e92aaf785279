"""Generation with alignment: each image written ArcFace-aligned at 112x112, misses counted.

Landmarks come from `data.align.CentredFaceLandmarker` (dlib's 5-point predictor on the
face brought to 150x150, mapped back to the image), so the same pixels give the same
bytes. A face without landmarks follows `on_miss` as in `fsbench align`: `resize`
(default) writes the whole image resized to 112x112, `skip` writes nothing, `error`
stops; either way the image is counted and listed.

Misses are recorded per batch in `.align-parts/` before the batch's images are written
(so a killed run never holds an image whose miss is unrecorded), and a finished run
merges them into `align_report.json` (the format of `fsbench align`) and its counts into
`dataset.json`. Backends that declare aligned output (`BackendCapabilities`) are refused.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from facesynth_bench.atomic_files import write_json_atomic
from facesynth_bench.backends import BackendCapabilities
from facesynth_bench.data.align import (
    ALIGN_REPORT,
    ALIGNED_SIZE,
    DETECTION_THRESHOLD,
    ON_MISS,
    AlignReport,
    CentredFaceLandmarker,
    align_face,
)
from facesynth_bench.errors import FsbenchError
from facesynth_bench.records import RunClock
from facesynth_bench.specs import GeneratorPreset

ALIGN_PARTS = ".align-parts"
LANDMARKS = (
    f"dlib 5-point predictor on the centred HOG detection (threshold "
    f"{DETECTION_THRESHOLD:g}) in the face brought to 150x150; fitted to dlib's 5-point "
    "reference with its eye centres on the ArcFace template's"
)


def align_settings(on_miss: str) -> dict[str, Any]:
    """The alignment settings as recorded in the run key (what must match to resume)."""
    return {"size": ALIGNED_SIZE, "template": "arcface", "landmarks": LANDMARKS, "on_miss": on_miss}


def describe_alignment(settings: dict[str, Any] | None) -> str:
    """Recorded settings in words: 'no alignment' or 'alignment with on_miss X'."""
    return (
        "no alignment" if settings is None else f"alignment with on_miss {settings.get('on_miss')}"
    )


def check_on_miss(on_miss: str) -> None:
    """Refuse an unknown policy for faces without landmarks."""
    if on_miss not in ON_MISS:
        raise FsbenchError(
            f"on_miss policy {on_miss!r}: expected one of {', '.join(ON_MISS)}", parameter="on_miss"
        )


def check_alignable(
    preset: GeneratorPreset, capabilities: BackendCapabilities, image_size: tuple[int, int]
) -> None:
    """Refuse to align images of a backend of aligned crops, or images 112x112 already."""
    if capabilities.aligned_output:
        raise FsbenchError(
            f"preset {preset.name}: backend {preset.backend} writes aligned face crops already "
            f"(embedders resize them to {ALIGNED_SIZE}x{ALIGNED_SIZE}); generate them unaligned",
            parameter="align",
        )
    size = (preset.image_size,) * 2 if preset.image_size is not None else image_size
    if tuple(size) == (ALIGNED_SIZE, ALIGNED_SIZE):
        raise FsbenchError(
            f"preset {preset.name} writes {ALIGNED_SIZE}x{ALIGNED_SIZE} images already; "
            "generate them unaligned",
            parameter="align",
        )


class BatchAligner:
    """Aligns the images of a batch and records its misses before they are written."""

    def __init__(self, out: Path, on_miss: str) -> None:
        check_on_miss(on_miss)
        self.out, self.on_miss = Path(out), on_miss
        self._landmarker: CentredFaceLandmarker | None = None

    def align(self, pixels: np.ndarray, paths: list[str]) -> list[np.ndarray | None]:
        """The 112x112 images (None: dropped by on_miss=skip); misses recorded first."""
        if self._landmarker is None:
            self._landmarker = CentredFaceLandmarker()
        images, misses = [], {}
        for image, path in zip(pixels, paths, strict=True):
            aligned, action = align_face(image, self._landmarker, self.on_miss)
            if action != "aligned":
                if self.on_miss == "error":
                    raise FsbenchError(
                        f"{self.out / path}: no face found to align (on_miss resize "
                        "writes it resized, skip drops it; both are counted)"
                    )
                misses[path] = action
            images.append(aligned)
        if misses:
            _write_part(self.out, paths[0], misses)
        return images


def _part_path(out: Path, first: str) -> Path:
    return out / ALIGN_PARTS / (first.replace("/", "-").removesuffix(".png") + ".json")


def _write_part(out: Path, first: str, misses: dict[str, str]) -> None:
    try:
        write_json_atomic(_part_path(out, first), misses)
    except OSError as exc:
        raise FsbenchError(f"cannot record alignment misses in {out / ALIGN_PARTS}: {exc}") from exc


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FsbenchError(f"{path}: cannot read the alignment record ({exc})") from exc


def read_misses(out: Path) -> dict[str, str]:
    """{path: "resized" | "failed"} of this run so far: align_report.json + batch records."""
    out = Path(out)
    misses: dict[str, str] = {}
    if (out / ALIGN_REPORT).is_file():
        report = _read_json(out / ALIGN_REPORT)
        if not isinstance(report, dict):
            raise FsbenchError(
                f"{out / ALIGN_REPORT}: expected a JSON object (an alignment report)"
            )
        misses.update((path, "resized") for path in report.get("resized", []))
        misses.update((entry["path"], "failed") for entry in report.get("failed", []))
    parts = out / ALIGN_PARTS
    for part in sorted(parts.glob("*.json")) if parts.is_dir() else []:
        misses.update(_read_json(part))
    return misses


def finish_alignment(out: Path, on_miss: str, total: int, clock: RunClock) -> dict[str, int]:
    """Merge the batch records into align_report.json; the counts of the whole run."""
    out = Path(out)
    misses = read_misses(out)
    report = AlignReport(policy=align_settings(on_miss))
    report.resized = sorted(p for p, action in misses.items() if action == "resized")
    report.failed = [
        {"path": p, "reason": "no face found"}
        for p, action in sorted(misses.items())
        if action == "failed"
    ]
    report.counts = {
        "aligned": total - len(misses),
        "resized": len(report.resized),
        "failed": len(report.failed),
    }
    report.write(out, "fsbench generate --align", clock)
    shutil.rmtree(out / ALIGN_PARTS, ignore_errors=True)
    return report.counts
