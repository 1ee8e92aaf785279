"""Two-stage identity contexts for latent_dcgan: dlib embeddings of fresh DCGAN faces.

dlib space is not a sphere around the origin (random faces sit at cosine ~0.88 from each
other), so uniform random unit vectors are not plausible identities for this backend.
Instead, as the design's "two-stage" sampling: draw a fresh latent z, decode it with the
DCGAN and embed the face with dlib exactly as the training pairs were made. Identity i of
run `seed` uses the latent seeded by SeedSequence([seed, i, TWO_STAGE_TAG]): three
entropy words, where every training chunk uses two ([seed, chunk]), so no training
latent is ever reused as a context, and identity i is the same whatever n is.
"""

from __future__ import annotations

import torch
from torch import Tensor

# The runner's context record; a plain dataclass with no dependencies of its own.
from facesynth_bench.backends import Contexts
from facesynth_bench.backends.latent_dcgan.dcgan import LATENT_DIM, DCGANGenerator
from facesynth_bench.backends.latent_dcgan.training_data import embed_latents
from facesynth_bench.embed.base import Embedder
from facesynth_bench.seeding import child_seed

TWO_STAGE_TAG = 0x25_7D_C0_47


def two_stage_latents(n: int, seed: int) -> Tensor:
    """Latents (n, 100) of the first n two-stage identities of `seed`, one generator each."""
    rows = []
    for identity in range(n):
        generator = torch.Generator().manual_seed(child_seed(seed, identity, TWO_STAGE_TAG))
        rows.append(torch.randn(LATENT_DIM, generator=generator))
    return torch.stack(rows) if rows else torch.empty(0, LATENT_DIM)


def two_stage_contexts(
    generator: DCGANGenerator, embedder: Embedder, n: int, seed: int
) -> Contexts:
    """n identity contexts (n, 128): dlib embeddings of the DCGAN faces of fresh latents."""
    vectors = embed_latents(generator, embedder, two_stage_latents(n, seed))
    ids = [f"two-stage-{seed}-{i}" for i in range(n)]
    return Contexts(vectors.float(), ids, f"two-stage(dcgan+dlib, seed={seed})")
