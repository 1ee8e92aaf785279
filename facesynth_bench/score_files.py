"""Score files made by any tool: pyeer text, NumPy arrays, bob's 2/4/5-column files.

Formats (comments starting with `#` and blank lines are skipped in text files):
- `one-per-line`: one score per line, the last whitespace-separated token (pyeer's reader);
  genuine and impostor scores come in two files.
- `.npy`: a 1-D float array (genuine or impostor), or an (N, 2) array of (label, score).
- `bob-2col`: `label score`, label 1 = genuine, -1 or 0 = impostor (bob.measure `split`).
- `bob-4col`: `claimed_id real_id probe score`, genuine when claimed == real.
- `bob-5col`: `claimed_id model real_id probe score`, genuine when claimed == real.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.errors import FsbenchError
from facesynth_bench.safe_loading import load_npy

WRITE_FORMATS = ("one-per-line", "npy", "bob-2col", "bob-4col")


@dataclass
class ScoreSet:
    """Genuine and impostor scores read from files, with where they came from."""

    genuine: np.ndarray
    impostor: np.ndarray
    source: str
    format: str


def _data_lines(path: Path) -> list[tuple[int, list[str]]]:
    """(1-based line number, tokens) of every non-blank, non-comment line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FsbenchError(f"{path}: not a text score file ({exc.reason})") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            rows.append((number, stripped.split()))
    return rows


def _to_float(path: Path, numbers: list[int], tokens: list[str]) -> np.ndarray:
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        for number, token in zip(numbers, tokens, strict=True):
            try:
                float(token)
            except ValueError:
                raise FsbenchError(f"{path}:{number}: {token!r} is not a number") from None
        raise


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise FsbenchError(f"{path}: no such file")


def read_score_list(path: Path) -> np.ndarray:
    """Scores of one class: `.npy` 1-D array or text with one score per line (last token)."""
    path = Path(path)
    _check_file(path)
    if path.suffix == ".npy":
        values = _load_npy(path)
        if values.ndim != 1:
            raise FsbenchError(f"{path}: expected a 1-D array of scores, got shape {values.shape}")
    else:
        rows = _data_lines(path)
        values = _to_float(path, [n for n, _ in rows], [tokens[-1] for _, tokens in rows])
    if values.size == 0:
        raise FsbenchError(f"{path}: no scores in the file")
    return values


def read_labelled_scores(path: Path) -> ScoreSet:
    """Genuine and impostor scores from one labelled file (bob columns or (N, 2) `.npy`)."""
    path = Path(path)
    _check_file(path)
    if path.suffix == ".npy":
        table = _load_npy(path)
        if table.ndim != 2 or table.shape[1] != 2:
            raise FsbenchError(f"{path}: expected an (N, 2) array of (label, score)")
        return _split_by_label(path, table[:, 0], table[:, 1], None, "npy")
    rows = _data_lines(path)
    if not rows:
        raise FsbenchError(f"{path}: no scores in the file")
    width = len(rows[0][1])
    for number, tokens in rows:
        if len(tokens) != width:
            raise FsbenchError(
                f"{path}:{number}: {len(tokens)} columns where the file started with {width}"
            )
    if width not in (2, 4, 5):
        raise FsbenchError(
            f"{path}: {width} columns per line; expected 2 (label score), 4 (claimed real "
            "probe score) or 5 (claimed model real probe score)"
        )
    numbers = [n for n, _ in rows]
    scores = _to_float(path, numbers, [tokens[-1] for _, tokens in rows])
    if width == 2:
        labels = _to_float(path, numbers, [tokens[0] for _, tokens in rows])
        return _split_by_label(path, labels, scores, numbers, "bob-2col")
    real = 1 if width == 4 else 2
    genuine = np.array([tokens[0] == tokens[real] for _, tokens in rows])
    return ScoreSet(scores[genuine], scores[~genuine], str(path), f"bob-{width}col")


def _split_by_label(
    path: Path, labels: np.ndarray, scores: np.ndarray, numbers: list[int] | None, fmt: str
) -> ScoreSet:
    bad = np.flatnonzero(~np.isin(labels, (-1, 0, 1)))
    if bad.size:
        where = f"line {numbers[bad[0]]}" if numbers else f"row {bad[0]}"
        raise FsbenchError(
            f"{path}: {where}: label {labels[bad[0]]:g} is not 1 (genuine), -1 or 0 (impostor)"
        )
    genuine = labels == 1
    return ScoreSet(scores[genuine], scores[~genuine], str(path), fmt)


def _load_npy(path: Path) -> np.ndarray:
    values = load_npy(path, "score file")
    if not np.issubdtype(values.dtype, np.number):
        raise FsbenchError(f"{path}: scores must be numbers, got dtype {values.dtype}")
    return values.astype(np.float64)


def read_score_files(
    genuine: Path | None = None, impostor: Path | None = None, scores: Path | None = None
) -> ScoreSet:
    """Read either a genuine + impostor pair of files or one labelled score file."""
    if scores is not None and genuine is None and impostor is None:
        data = read_labelled_scores(scores)
    elif scores is None and genuine is not None and impostor is not None:
        data = ScoreSet(
            read_score_list(genuine),
            read_score_list(impostor),
            f"{genuine} + {impostor}",
            "npy" if Path(genuine).suffix == ".npy" else "one-per-line",
        )
    else:
        raise FsbenchError("give either --genuine FILE and --impostor FILE, or --scores FILE")
    if data.genuine.size == 0 or data.impostor.size == 0:
        missing = "genuine" if data.genuine.size == 0 else "impostor"
        raise FsbenchError(f"{data.source}: no {missing} scores: both classes are needed")
    return data


def write_score_files(
    path: Path, genuine: np.ndarray, impostor: np.ndarray, fmt: str
) -> list[Path]:
    """Write scores in `fmt` (see WRITE_FORMATS); returns the files written.

    `one-per-line` and `npy` write `<path>.genuine.*` and `<path>.impostor.*`; the bob
    formats write one labelled file at `path` (4-column rows use synthetic identity names).
    """
    path = Path(path)
    if fmt == "one-per-line":
        written = [path.with_suffix(".genuine.txt"), path.with_suffix(".impostor.txt")]
        for target, values in zip(written, (genuine, impostor), strict=True):
            write_bytes_atomic(target, "".join(f"{v!r}\n" for v in map(float, values)).encode())
        return written
    if fmt == "npy":
        written = [path.with_suffix(".genuine.npy"), path.with_suffix(".impostor.npy")]
        for target, values in zip(written, (genuine, impostor), strict=True):
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(values, dtype=np.float64))
            write_bytes_atomic(target, buffer.getvalue())
        return written
    if fmt == "bob-2col":
        lines = [f"1 {float(v)!r}\n" for v in genuine]
        lines += [f"-1 {float(v)!r}\n" for v in impostor]
    elif fmt == "bob-4col":
        lines = [f"id{k} id{k} probe{k} {float(v)!r}\n" for k, v in enumerate(genuine)]
        lines += [f"id{k} other{k} probe{k} {float(v)!r}\n" for k, v in enumerate(impostor)]
    else:
        raise FsbenchError(f"score format {fmt!r}: expected one of {', '.join(WRITE_FORMATS)}")
    write_bytes_atomic(path, "".join(lines).encode())
    return [path]
