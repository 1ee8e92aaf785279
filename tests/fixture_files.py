"""Where the reference fixtures live: tests/fixtures/, inside the repository (see its README)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
