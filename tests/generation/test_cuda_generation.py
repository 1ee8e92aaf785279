"""A guided generation run on CUDA: images, manifest and a resume that adds nothing."""

from __future__ import annotations

import pytest
import torch

from facesynth_bench.data.manifest import read_manifest
from facesynth_bench.generation.runner import GenerationRequest, generate
from facesynth_bench.specs import load_preset

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA")]


def test_guided_run_on_cuda(preset_dir, tmp_path) -> None:
    request = GenerationRequest(
        preset=load_preset("dummy-adaptdiff", [preset_dir]),
        identities=4,
        images_per_identity=3,
        out=tmp_path / "run",
        batch_size=5,
        device="cuda",
    )
    assert generate(request).written == 12
    assert len(read_manifest(tmp_path / "run")) == 12
    again = GenerationRequest(**{**request.__dict__, "resume": True})
    assert generate(again).written == 0
