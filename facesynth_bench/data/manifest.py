"""The dataset manifest: `manifest.jsonl` at a dataset root, one JSON object per image.

Written by `fsbench generate` (append-only, fsynced per batch, so a killed run leaves at
most a torn last line), read by every reader to attach generator provenance to images.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from facesynth_bench.errors import FsbenchError

MANIFEST_NAME = "manifest.jsonl"


@dataclass(frozen=True)
class ManifestRecord:
    """One image: its POSIX path relative to the dataset root and where it came from."""

    path: str
    identity: str
    index: int
    generator: str | None = None
    seed: int | None = None
    context_id: str | None = None


_FIELDS = {field.name for field in dataclasses.fields(ManifestRecord)}


def _parse_line(text: str, where: str) -> ManifestRecord:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FsbenchError(f"{where}: not valid JSON ({exc.msg})") from exc
    if not isinstance(obj, dict):
        raise FsbenchError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = set(obj) - _FIELDS
    missing = {"path", "identity", "index"} - set(obj)
    if unknown or missing:
        raise FsbenchError(
            f"{where}: unknown fields {sorted(unknown)} / missing fields {sorted(missing)}"
        )
    if not isinstance(obj["path"], str) or not isinstance(obj["identity"], str):
        raise FsbenchError(f"{where}: 'path' and 'identity' must be strings")
    if not isinstance(obj["index"], int) or isinstance(obj["index"], bool):
        raise FsbenchError(f"{where}: 'index' must be an integer")
    return ManifestRecord(**obj)


def read_manifest(root: Path) -> list[ManifestRecord]:
    """Read `root/manifest.jsonl`; a torn last line (no newline, bad JSON) is ignored."""
    path = Path(root) / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FsbenchError(f"{path}: cannot read manifest ({exc})") from exc
    lines = text.split("\n")
    torn_tail = lines.pop()  # "" when the file ends with a newline
    records = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            records.append(_parse_line(line, f"{path}:{number}"))
    if torn_tail.strip():
        try:
            records.append(_parse_line(torn_tail, f"{path}:{len(lines) + 1}"))
        except FsbenchError as exc:
            warnings.warn(f"ignoring a torn last manifest line ({exc})", stacklevel=2)
    return records


def _truncate_torn_tail(path: Path) -> None:
    with path.open("rb+") as handle:
        data = handle.read()
        if not data or data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())


class ManifestWriter:
    """Appends records to `root/manifest.jsonl`, flushing and fsyncing each batch."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / MANIFEST_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _truncate_torn_tail(self.path)
        self._handle = self.path.open("a", encoding="utf-8")

    def append(self, records: Iterable[ManifestRecord]) -> None:
        """Append one line per record, then flush and fsync."""
        lines = [json.dumps(dataclasses.asdict(r), ensure_ascii=False) + "\n" for r in records]
        self._handle.write("".join(lines))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Close the file."""
        self._handle.close()

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
