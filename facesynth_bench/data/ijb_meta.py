"""IJB-B / IJB-C 1:1 verification meta files, read with explicit columns and dtypes.

The insightface IJB release layout (recognition/_evaluation_/ijb/eval_ijbc.py), one row per
line, fields separated by whitespace, no header:

- `meta/ijbc_face_tid_mid.txt`: `image_name template_id media_id` (str, int, int);
- `meta/ijbc_template_pair_label.txt`: `template_1 template_2 label` (int, int, 0/1);
- `meta/ijbc_name_5pts_score.txt`: `image_name x1 y1 ... x5 y5 faceness` (str, 10 floats in
  pixels of the loose crop: eye centres, nose tip, mouth corners, image-left first, then
  the detector's face score);
- the images in `loose_crop/`, aligned by `align_ijb_face`.

Every file is parsed by numpy's C reader (np.loadtxt) with one dtype per column: integers
are read as int64, never through floats (a pair file read as floats once gave near-zero
TAR upstream), and a value that is not a whole number is an error. Each row must have the
file's column count. The landmark rows must name the images of the face file; in the same
order (insightface saves features in landmark-file order), or else they are matched by
name and `landmark_rows` says where each image's row was. Pairs may only name templates
that have images. Every problem is a named error with the file, line and numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facesynth_bench.data.align import warp_to_template
from facesynth_bench.errors import FsbenchError

FACE_COLUMNS = (("image name", str), ("template", int), ("media", int))
PAIR_COLUMNS = (("template 1", int), ("template 2", int), ("label", int))
LANDMARK_COLUMNS = (
    ("image name", str),
    *((f"{axis}{point}", float) for point in range(1, 6) for axis in "xy"),
    ("faceness", float),
)
_SHOWN = 5  # examples named in an error


@dataclass(frozen=True, eq=False)
class IjbMeta:
    """One IJB protocol: N images (face-file order), their templates and media, P pairs.

    `landmarks` (N, 5, 2) float32 pixels (x, y) in the loose crop; `faceness` (N,) float32;
    `landmark_rows` (N,) int64: the landmark-file row of each image (arange(N) when the two
    files list the images in the same order), which is the row of an insightface feature.
    """

    image_names: tuple[str, ...]
    templates: np.ndarray
    media: np.ndarray
    landmarks: np.ndarray
    faceness: np.ndarray
    pair_t1: np.ndarray
    pair_t2: np.ndarray
    pair_labels: np.ndarray
    landmark_rows: np.ndarray

    def __len__(self) -> int:
        """The number of images N."""
        return len(self.image_names)


def _shown(items, limit: int = _SHOWN) -> str:
    items = list(items)
    more = f" (and {len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(str(item) for item in items[:limit]) + more


def _column_names(columns) -> str:
    return " ".join(name for name, _ in columns)


def _first_bad_line(path: Path, columns, what: str) -> FsbenchError | None:
    """The first line whose column count or values are wrong, as an error (a slow scan)."""
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != len(columns):
                return FsbenchError(
                    f"{what} {path}:{number}: expected {len(columns)} columns "
                    f"({_column_names(columns)}), got {len(fields)}: {line.strip()[:200]!r}"
                )
            for (name, kind), field in zip(columns, fields, strict=True):
                try:
                    value = kind(field)
                except ValueError:
                    noun = "an integer" if kind is int else "a number"
                    return FsbenchError(f"{what} {path}:{number}: {name} {field!r} is not {noun}")
                if kind is int and not -(2**63) <= value < 2**63:
                    return FsbenchError(
                        f"{what} {path}:{number}: {name} {field} does not fit in 64 bits"
                    )
    return None


def _load_text(path: Path, columns, what: str, **options) -> np.ndarray:
    """np.loadtxt of a whitespace-separated text file; a failure names the first bad line."""
    path = Path(path)
    if not path.is_file():
        raise FsbenchError(f"{what} {path}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)  # an int read through a float
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": below
            return np.loadtxt(path, comments=None, encoding="utf-8", **options)
    except UnicodeDecodeError as exc:
        raise FsbenchError(f"{what} {path}: not UTF-8 text ({exc.reason})") from None
    except (ValueError, DeprecationWarning) as exc:
        raise _first_bad_line(path, columns, what) or FsbenchError(
            f"{what} {path}: unreadable ({exc})"
        ) from None
    except OSError as exc:
        raise FsbenchError(f"{what} {path}: cannot read ({exc.strerror or exc})") from None


def _read_columns(path: Path, columns, dtype, what: str, ndmin: int = 1) -> np.ndarray:
    """The rows of the file as a structured array (or an int array); empty is an error."""
    table = _load_text(path, columns, what, dtype=dtype, ndmin=ndmin)
    if len(table) == 0:
        raise FsbenchError(f"{what} {path}: no rows; expected lines of {_column_names(columns)}")
    return table


def _name_width(path: Path, columns, what: str) -> int:
    """Characters in the longest first field (image name) of the file, so none is cut."""
    names = _load_text(path, columns, what, dtype=str, usecols=0, ndmin=1)
    return max(1, names.dtype.itemsize // np.dtype("U1").itemsize)


def _read_faces(path: Path) -> np.ndarray:
    what = "IJB face file"
    width = _name_width(path, FACE_COLUMNS, what)
    dtype = [("name", f"U{width}"), ("template", "i8"), ("media", "i8")]
    return _read_columns(path, FACE_COLUMNS, dtype, what)


def _read_landmarks(path: Path) -> np.ndarray:
    what = "IJB landmarks file"
    width = _name_width(path, LANDMARK_COLUMNS, what)
    dtype = [("name", f"U{width}"), ("points", "f4", (10,)), ("faceness", "f4")]
    table = _read_columns(path, LANDMARK_COLUMNS, dtype, what)
    finite = np.isfinite(table["points"]).all(axis=1) & np.isfinite(table["faceness"])
    if not finite.all():
        rows = np.flatnonzero(~finite)
        raise FsbenchError(
            f"{what} {path}: {len(rows)} rows hold non-finite numbers (NaN or inf), first "
            f"row {rows[0] + 1} ({table['name'][rows[0]]})"
        )
    return table


def _read_pairs(path: Path) -> np.ndarray:
    what = "IJB pair file"
    table = _read_columns(path, PAIR_COLUMNS, np.int64, what, ndmin=2)
    if table.shape[1] != len(PAIR_COLUMNS):
        raise FsbenchError(
            f"{what} {path}: expected {len(PAIR_COLUMNS)} columns "
            f"({_column_names(PAIR_COLUMNS)}), every row has {table.shape[1]}"
        )
    labels = table[:, 2]
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if len(bad):
        raise FsbenchError(
            f"{what} {path}: {len(bad)} labels are not 0 or 1, first {labels[bad[0]]} in row "
            f"{bad[0] + 1} ({_shown(sorted(set(labels[bad].tolist())))})"
        )
    return table


def _landmark_rows(
    faces: np.ndarray, landmarks: np.ndarray, paths: tuple[Path, Path]
) -> np.ndarray:
    """The landmark-file row of each face-file image; mismatches are a named error."""
    face_names, landmark_names = faces["name"], landmarks["name"]
    if len(face_names) == len(landmark_names) and np.array_equal(face_names, landmark_names):
        return np.arange(len(face_names), dtype=np.int64)
    face_path, landmark_path = paths
    row_of = {name: row for row, name in enumerate(landmark_names.tolist())}
    problems = []
    for names, path in ((face_names, face_path), (landmark_names, landmark_path)):
        unique, counts = np.unique(names, return_counts=True)
        if (counts > 1).any():
            problems.append(
                f"{path} names {int((counts > 1).sum())} images twice or more "
                f"({_shown(unique[counts > 1].tolist())})"
            )
    missing = [name for name in face_names.tolist() if name not in row_of]
    if missing:
        problems.append(
            f"{len(missing)} of the {len(face_names)} images have no row ({_shown(missing)})"
        )
    known = set(face_names.tolist())
    extra = [name for name in landmark_names.tolist() if name not in known]
    if extra:
        problems.append(
            f"{len(extra)} of its {len(landmark_names)} rows name images not in {face_path} "
            f"({_shown(extra)})"
        )
    if problems:
        raise FsbenchError(
            f"IJB landmarks file {landmark_path} does not match the images of {face_path}: "
            + "; ".join(problems)
        )
    return np.array([row_of[name] for name in face_names.tolist()], dtype=np.int64)


def _check_pair_templates(pairs: np.ndarray, templates: np.ndarray, paths: tuple[Path, Path]):
    known = np.unique(templates)
    unknown = ~(np.isin(pairs[:, 0], known) & np.isin(pairs[:, 1], known))
    if unknown.any():
        rows = np.flatnonzero(unknown)
        ids = np.setdiff1d(pairs[rows, :2], known)
        face_path, pair_path = paths
        raise FsbenchError(
            f"IJB pair file {pair_path}: {len(rows)} pairs name {len(ids)} templates with no "
            f"images in {face_path} ({_shown(ids.tolist())}), first in row {rows[0] + 1}"
        )


def read_ijb_meta(face_tid_mid: Path, template_pairs: Path, landmarks: Path) -> IjbMeta:
    """Read and cross-check the three IJB meta files (see the module docstring)."""
    face_tid_mid, template_pairs, landmarks = map(Path, (face_tid_mid, template_pairs, landmarks))
    faces = _read_faces(face_tid_mid)
    points = _read_landmarks(landmarks)
    rows = _landmark_rows(faces, points, (face_tid_mid, landmarks))
    pairs = _read_pairs(template_pairs)
    _check_pair_templates(pairs, faces["template"], (face_tid_mid, template_pairs))
    return IjbMeta(
        image_names=tuple(faces["name"].tolist()),
        templates=np.ascontiguousarray(faces["template"]),
        media=np.ascontiguousarray(faces["media"]),
        landmarks=np.ascontiguousarray(points["points"][rows].reshape(-1, 5, 2)),
        faceness=np.ascontiguousarray(points["faceness"][rows]),
        pair_t1=np.ascontiguousarray(pairs[:, 0]),
        pair_t2=np.ascontiguousarray(pairs[:, 1]),
        pair_labels=pairs[:, 2].astype(np.int8),
        landmark_rows=rows,
    )


def align_ijb_face(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """A loose crop (uint8 RGB, H x W x 3) warped so its 5 points land on the ArcFace template.

    Similarity transform (data.align.similarity_transform, Umeyama) into 112 x 112,
    bilinear, black border: insightface's IJB alignment (eval_ijbc.py `get`).
    """
    image, landmarks = np.asarray(image), np.asarray(landmarks, dtype=np.float64)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise FsbenchError(
            f"IJB face: expected a uint8 RGB image (H, W, 3), got {image.dtype} {image.shape}"
        )
    if landmarks.shape != (5, 2):
        raise FsbenchError(f"IJB face: expected 5 (x, y) landmarks, got shape {landmarks.shape}")
    return warp_to_template(image, landmarks)
