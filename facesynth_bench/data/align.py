"""5-point face alignment to the ArcFace 112x112 template (insightface convention).

A similarity transform (rotation, uniform scale, translation) is fitted by least squares
(Umeyama, "Least-squares estimation of transformation parameters between two point
patterns", TPAMI 1991, the estimator of skimage's SimilarityTransform that insightface
uses) from the 5 landmarks (eye centres, nose tip, mouth corners; image-left first) to
ARCFACE_TEMPLATE, and the image is warped with OpenCV (bilinear, black border).

Landmark sources and the fallback policy (counted in every report):
1. a landmarks file (IJB `name x1 y1 ... x5 y5 [score]` lines, finite numbers) when given:
   every image must have a row, a missing row is an error (or, with skip_bad, a listed
   failure);
2. otherwise dlib: HOG frontal face detector (largest face), 68-point shape predictor,
   reduced to 5 points (mean of each eye's 6 points, nose tip 30, mouth corners 48/54);
3. when dlib finds no face, `on_miss` decides: `resize` (default) resizes the whole
   image to 112x112 and counts it as "resized" (right for tightly cropped synthetic
   faces); `skip` drops it and lists it as "failed" (NegFaceDiff drops undetected
   faces); `error` stops with the file named.

Small, centred synthetic faces (`fsbench generate --align`) use `CentredFaceLandmarker`
instead: the face brought to 150x150 (the dlib embedder's input size), the HOG detector at
a lowered threshold, dlib's 5-point predictor on the best centred detection, the points
mapped back to the image and fitted to `DLIB5_TEMPLATE` (dlib's own 5-point reference
placed so that its eye centres are the ArcFace template's).

`align_dataset` writes a new copy: the output folder must be new or empty. The copy is
built in a hidden staging folder beside it and renamed into place when complete, so a
failed or interrupted run leaves no half-written output behind.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from torch.utils.data import DataLoader, Dataset

from facesynth_bench.data.dlib_models import dlib_model_path, import_dlib
from facesynth_bench.data.image_io import BadImageError, write_image
from facesynth_bench.data.layouts import (
    DatasetLayout,
    GridSpec,
    SampleRef,
    describe_skipped,
    open_layout,
)
from facesynth_bench.data.manifest import MANIFEST_NAME, ManifestWriter, read_manifest
from facesynth_bench.data.workers import check_workers
from facesynth_bench.errors import FsbenchError
from facesynth_bench.records import RunClock, write_record

ALIGNED_SIZE = 112
ALIGN_REPORT = "align_report.json"
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
ON_MISS = ("resize", "skip", "error")
LANDMARK_FRAME = 150
# dlib's get_face_chip_details reference for the 5-point predictor (dlib/image_transforms/
# interpolation.h), in a unit chip: image-right eye outer and inner corner, image-left eye
# outer and inner corner, bottom of the nose.
DLIB5_CHIP = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ],
    dtype=np.float64,
)
# HOG score threshold for small synthetic faces: at dlib's default (0) the detector misses
# a third of the 64x64 DCGAN faces brought to 150x150, at -0.8 one in eleven, and it still
# finds nothing centred on blank, noise or shifted images.
DETECTION_THRESHOLD = -0.8
DETECTION_CENTRE = (0.25, 0.75)  # a detection's centre must lie in the middle half


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (2x3 matrix) mapping points src (N, 2) onto dst (N, 2)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise FsbenchError(
            f"similarity_transform: expected two (N, 2) arrays, got {src.shape} and {dst.shape}"
        )
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise FsbenchError("similarity_transform: points must be finite numbers (no NaN or inf)")
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    variance = (src_c**2).sum() / len(src)
    if variance == 0:
        raise FsbenchError("similarity_transform: all source points coincide")
    scale = np.trace(np.diag(singular) @ sign) / variance
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _dlib5_template() -> np.ndarray:
    eyes = np.stack([DLIB5_CHIP[2:4].mean(axis=0), DLIB5_CHIP[0:2].mean(axis=0)])
    return _apply(similarity_transform(eyes, ARCFACE_TEMPLATE[:2]), DLIB5_CHIP)


DLIB5_TEMPLATE = _dlib5_template()
"""dlib's 5-point reference in the 112x112 ArcFace frame, eye centres on ARCFACE_TEMPLATE's."""


def warp_to_template(
    image: np.ndarray, landmarks: np.ndarray, template: np.ndarray = ARCFACE_TEMPLATE
) -> np.ndarray:
    """Warp a uint8 RGB image so its landmarks land on `template` in a 112x112 image."""
    import cv2  # here, not at the top: generation imports this module without aligning

    matrix = similarity_transform(landmarks, template)
    return cv2.warpAffine(
        image, matrix, (ALIGNED_SIZE, ALIGNED_SIZE), flags=cv2.INTER_LINEAR, borderValue=0
    )


def resize_unaligned(image: np.ndarray) -> np.ndarray:
    """The whole image resized to 112x112: the `on_miss=resize` fallback."""
    import cv2

    return cv2.resize(image, (ALIGNED_SIZE, ALIGNED_SIZE), interpolation=cv2.INTER_AREA)


def five_from_68(points: np.ndarray) -> np.ndarray:
    """The 5 ArcFace landmarks from dlib/iBUG 68 points: eye centres, nose tip, mouth corners."""
    points = np.asarray(points, np.float64)
    return np.stack(
        [points[36:42].mean(axis=0), points[42:48].mean(axis=0), points[30], points[48], points[54]]
    )


def read_landmarks_file(path: Path) -> dict[str, np.ndarray]:
    """Read IJB-style `name x1 y1 ... x5 y5 [score]` lines into {name: (5, 2) array} (px)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise FsbenchError(f"landmarks file {path}: cannot read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise FsbenchError(f"landmarks file {path}: not UTF-8 text ({exc.reason})") from exc
    table: dict[str, np.ndarray] = {}
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) not in (11, 12):
            raise FsbenchError(
                f"{path}:{number}: expected a name and 10 coordinates "
                f"(+ optional score), got {len(fields)} fields"
            )
        try:
            coords = np.array([float(v) for v in fields[1:11]]).reshape(5, 2)
        except ValueError as exc:
            raise FsbenchError(f"{path}:{number}: bad coordinate ({exc})") from exc
        if not np.isfinite(coords).all():
            raise FsbenchError(
                f"{path}:{number}: non-finite coordinate for {fields[0]!r} "
                f"({', '.join(fields[1:11])}); landmarks must be finite numbers"
            )
        if fields[0] in table:
            raise FsbenchError(f"{path}:{number}: second row for {fields[0]!r}")
        if (coords == coords[0]).all():
            raise FsbenchError(f"{path}:{number}: the 5 points of {fields[0]!r} coincide")
        table[fields[0]] = coords
    return table


class Landmarker(Protocol):
    """Landmarks of one uint8 RGB image, or None (no face); they map onto `template`."""

    template: np.ndarray

    def __call__(self, image: np.ndarray) -> np.ndarray | None: ...


class DlibLandmarker:
    """dlib HOG detector + 68-point predictor -> 5 ArcFace landmarks, or None (no face)."""

    template = ARCFACE_TEMPLATE

    def __init__(self) -> None:
        dlib = import_dlib()
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(
            str(dlib_model_path("shape_predictor_68_face_landmarks.dat"))
        )

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        upsample = 1 if min(image.shape[:2]) < 200 else 0
        faces = list(self._detector(image, upsample))
        if not faces:
            return None
        shape = self._predictor(image, max(faces, key=lambda rect: rect.area()))
        return five_from_68([(p.x, p.y) for p in shape.parts()])


def _to_frame(image: np.ndarray) -> np.ndarray:
    """The image at 150x150: bilinear when enlarging (as the dlib embedder's input), else area."""
    import cv2

    shrink = max(image.shape[:2]) > LANDMARK_FRAME
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    frame = cv2.resize(image, (LANDMARK_FRAME, LANDMARK_FRAME), interpolation=interpolation)
    return np.ascontiguousarray(frame)


def _from_frame(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Pixel coordinates in the 150x150 frame -> in the image (pixel centres kept)."""
    scale = np.array([shape[1], shape[0]], np.float64) / LANDMARK_FRAME
    return (points + 0.5) * scale - 0.5


class CentredFaceLandmarker:
    """dlib 5-point landmarks of a small, centred face (a generated one), or None (no face).

    The image is brought to 150x150; the HOG detector runs there without upsampling at
    DETECTION_THRESHOLD, detections centred outside the middle half are ignored, and the
    5-point predictor runs on the best-scoring one. The points are mapped back to the
    image and fit DLIB5_TEMPLATE. (The predictor on the dlib embedder's fixed box instead
    misplaced a few faces by 15 px; see docs/embedded-default.md.)
    """

    template = DLIB5_TEMPLATE

    def __init__(self) -> None:
        dlib = import_dlib()
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(
            str(dlib_model_path("shape_predictor_5_face_landmarks.dat"))
        )

    def _centred_face(self, frame: np.ndarray):
        low, high = (LANDMARK_FRAME * v for v in DETECTION_CENTRE)
        faces, scores, _ = self._detector.run(frame, 0, DETECTION_THRESHOLD)
        centred = [
            (score, rect)
            for rect, score in zip(faces, scores, strict=True)
            if low <= rect.center().x <= high and low <= rect.center().y <= high
        ]
        return max(centred, key=lambda item: item[0])[1] if centred else None

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        frame = _to_frame(image)
        face = self._centred_face(frame)
        if face is None:
            return None
        points = np.array([(p.x, p.y) for p in self._predictor(frame, face).parts()], np.float64)
        return _from_frame(points, image.shape)


def align_face(
    image: np.ndarray, landmarker: Landmarker, on_miss: str
) -> tuple[np.ndarray | None, str]:
    """(112x112 image, "aligned" | "resized") or (None, "failed") under the on_miss policy."""
    points = landmarker(image)
    if points is not None:
        return warp_to_template(image, points, landmarker.template), "aligned"
    if on_miss == "resize":
        return resize_unaligned(image), "resized"
    return None, "failed"


@dataclass
class AlignReport:
    """How each image was handled: aligned, resized (no face, on_miss=resize) or failed."""

    policy: dict
    counts: dict[str, int] = field(
        default_factory=lambda: {"aligned": 0, "resized": 0, "failed": 0}
    )
    resized: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def write(self, root: Path, source: str, clock: RunClock) -> None:
        """Write `root/align_report.json` (source, policy, counts, resized and failed paths)."""
        body = {
            "source": source,
            "policy": self.policy,
            "counts": self.counts,
            "resized": self.resized,
            "failed": self.failed,
        }
        write_record(Path(root) / ALIGN_REPORT, "alignment-report", body, clock)


def _landmarks_for(table: Mapping[str, np.ndarray], ref: SampleRef) -> np.ndarray | None:
    return table.get(ref.path, table.get(Path(ref.path).name))


class _AlignJobs(Dataset):
    """Load + align one sample per item (in DataLoader workers)."""

    def __init__(self, layout: DatasetLayout, refs, table, on_miss: str) -> None:
        self.layout, self.refs, self.table, self.on_miss = layout, refs, table, on_miss
        self._landmarker: DlibLandmarker | None = None

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, position: int):
        ref = self.refs[position]
        try:
            image = self.layout.load(ref)
        except BadImageError as exc:
            return position, None, "failed", exc.reason
        if self.table is None:
            if self._landmarker is None:
                self._landmarker = DlibLandmarker()
            aligned, action = align_face(image, self._landmarker, self.on_miss)
            return position, aligned, action, "no face detected" if aligned is None else ""
        points = _landmarks_for(self.table, ref)
        if points is None:
            return position, None, "failed", "no row in the landmarks file"
        return position, warp_to_template(image, points), "aligned", ""


def align_dataset(
    src: Path,
    dst: Path,
    *,
    landmarks: Path | None = None,
    on_miss: str = "resize",
    skip_bad: bool = False,
    layout: str = "auto",
    grid: GridSpec | None = None,
    num_workers: int = 0,
    suffix: str = ".png",
    progress=None,
) -> AlignReport:
    """Write an aligned 112x112 copy of `src` as `dst/<identity>/<name><suffix>` (a new folder)."""
    clock = RunClock()
    if on_miss not in ON_MISS:
        raise FsbenchError(
            f"on_miss policy {on_miss!r}: expected one of {', '.join(ON_MISS)}", parameter="on_miss"
        )
    check_workers(num_workers)
    src, dst = Path(src), Path(dst)
    _check_destination(src, dst)
    data = open_layout(src, layout, grid=grid)
    refs, skipped = data.scan()
    if skipped and not skip_bad:
        raise FsbenchError(f"{src}: {describe_skipped(skipped)}", parameter="skip_bad")
    if not refs:
        raise FsbenchError(f"{src}: no images to align")
    table = read_landmarks_file(landmarks) if landmarks is not None else None
    if table is not None and not skip_bad:
        _check_rows(table, refs, landmarks)
    source = str(landmarks) if landmarks is not None else "dlib 68-point"
    report = AlignReport(
        policy={
            "landmarks": source,
            "on_miss": on_miss,
            "template": ARCFACE_TEMPLATE.tolist(),
            "size": ALIGNED_SIZE,
        }
    )
    report.failed.extend({"path": s.path, "reason": s.reason} for s in skipped)
    report.counts["failed"] += len(skipped)
    manifest = {r.path: r for r in read_manifest(src)} if (src / MANIFEST_NAME).is_file() else {}
    loader = DataLoader(
        _AlignJobs(data, refs, table, on_miss), batch_size=None, num_workers=num_workers
    )
    with _staged_folder(dst) as staging:
        written = []
        numbered = data.name in ("grid", "recordio")  # samples share a file: name by locator
        for done, (position, image, action, reason) in enumerate(loader, start=1):
            ref = refs[position]
            if image is None:
                _check_may_skip(src / ref.path, reason, on_miss, skip_bad)
                report.counts["failed"] += 1
                report.failed.append({"path": ref.path, "reason": reason})
            else:
                stem = str(ref.locator) if numbered else Path(ref.path).stem
                rel = f"{ref.identity}/{stem}{suffix}"
                try:
                    write_image(staging / rel, np.asarray(image))
                except OSError as exc:
                    raise FsbenchError(f"{dst / rel}: cannot write ({exc.strerror})") from exc
                written.append((ref, rel))
                report.counts[action] += 1
                if action == "resized":
                    report.resized.append(ref.path)
            if progress:
                progress(done, len(refs))
        if manifest:
            with ManifestWriter(staging) as writer:
                writer.append(
                    dataclasses.replace(manifest[ref.path], path=rel)
                    for ref, rel in written
                    if ref.path in manifest
                )
        report.write(staging, str(src), clock)
    return report


def _check_destination(src: Path, dst: Path) -> None:
    """Refuse an output folder that is the source, lies inside it, or already holds files."""
    if dst.resolve() == src.resolve():
        raise FsbenchError(f"{dst}: the aligned copy must not overwrite the source dataset")
    if dst.resolve().is_relative_to(src.resolve()):
        raise FsbenchError(f"{dst}: the aligned copy must not lie inside the source dataset {src}")
    if dst.exists() and not dst.is_dir():
        raise FsbenchError(f"{dst}: exists and is not a folder; the aligned copy needs a folder")
    try:
        occupied = dst.is_dir() and any(dst.iterdir())
    except OSError as exc:
        raise FsbenchError(f"{dst}: cannot list the output folder ({exc.strerror})") from exc
    if occupied:
        raise FsbenchError(
            f"output folder {dst} is not empty; align writes a new copy, so choose a new or "
            "empty folder"
        )


@contextmanager
def _staged_folder(dst: Path) -> Iterator[Path]:
    """A new hidden folder beside `dst` to build in; renamed to `dst` on success, else removed."""
    staging = dst.parent / f".{dst.name}.aligning"
    if staging.exists():
        raise FsbenchError(
            f"{staging} is left from an interrupted align into {dst}; remove it and run again"
        )
    try:
        staging.mkdir(parents=True)
    except OSError as exc:
        raise FsbenchError(f"{dst}: cannot create the output folder ({exc.strerror})") from exc
    try:
        yield staging
        if dst.is_dir():
            dst.rmdir()  # empty (checked before any work); the complete copy takes its place
        staging.rename(dst)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _check_rows(table: Mapping[str, np.ndarray], refs: list[SampleRef], landmarks: Path) -> None:
    """Refuse, before any work, images that have no row in the landmarks file."""
    missing = [ref.path for ref in refs if _landmarks_for(table, ref) is None]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise FsbenchError(
            f"{missing[0]}{more}: no row in the landmarks file {landmarks}; skip_bad skips "
            "and reports such images",
            parameter="skip_bad",
        )


def _check_may_skip(path: Path, reason: str, on_miss: str, skip_bad: bool) -> None:
    """Refuse an image that could not be aligned unless the policy lets it be skipped."""
    if reason == "no face detected":
        if on_miss != "skip":
            raise FsbenchError(
                f"{path}: {reason} (on_miss {on_miss!r}; 'resize' or 'skip' handles it)",
                parameter="on_miss",
            )
    elif not skip_bad:
        raise FsbenchError(
            f"{path}: {reason} (skip_bad skips and reports unusable files)", parameter="skip_bad"
        )
