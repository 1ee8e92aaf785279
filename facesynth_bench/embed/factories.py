"""Registry factories for the iresnet embedders (one per architecture, plus auto-detect)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from facesynth_bench.embed.torch_iresnet import IResNetEmbedder, create_iresnet


def iresnet_any(checkpoint: Path | None, **kwargs) -> IResNetEmbedder:
    """An iResNet of whichever architecture the checkpoint holds."""
    return create_iresnet(None, checkpoint, **kwargs)


iresnet18 = partial(create_iresnet, "r18")
iresnet34 = partial(create_iresnet, "r34")
iresnet50 = partial(create_iresnet, "r50")
iresnet100 = partial(create_iresnet, "r100")
iresnet200 = partial(create_iresnet, "r200")
