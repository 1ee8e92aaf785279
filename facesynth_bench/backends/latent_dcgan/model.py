"""The `latent_dcgan` backend: epsilon model over the DCGAN z + the DCGAN decoder.

Options (the `[backend.options]` table of a preset):
    decoder: path of converted DCGAN weights (default: the shipped DigiFace DCGAN)
    precision: auto | fp32 | bf16 | fp16 (autocast of the denoiser on CUDA; fp32 on CPU)
The checkpoint is a denoiser file written by `save_denoiser`; its header may name the
noise schedule as {"schedule": {"name": "linear", "num_timesteps": 1000}} (the default)
and what the network predicts as {"prediction": "v"} (default "eps").
Without a checkpoint the shipped `facesynth_bench/assets/latent_dcgan_denoiser.safetensors` is
used; where it is missing, loading fails and says how to train one (never random weights).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from facesynth_bench.atomic_files import sha256_file
from facesynth_bench.backends import BackendCapabilities, Contexts
from facesynth_bench.backends.latent_dcgan.architectures import load_denoiser
from facesynth_bench.backends.latent_dcgan.conditioning import ConditionedDenoiser
from facesynth_bench.backends.latent_dcgan.contexts import two_stage_contexts
from facesynth_bench.backends.latent_dcgan.dcgan import (
    IMAGE_SIZE,
    DCGANGenerator,
    decode_latents,
    default_weights_path,
    load_dcgan_generator,
)
from facesynth_bench.devices import autocast_for
from facesynth_bench.diffusion.parameterisation import check_prediction, eps_from_output
from facesynth_bench.diffusion.schedules import NoiseSchedule
from facesynth_bench.embed.dlib_resnet import CHIP_SIZE, DlibEmbedder
from facesynth_bench.errors import FsbenchError

KNOWN_OPTIONS = {"decoder", "precision"}
SHIPPED_DENOISER = "latent_dcgan_denoiser.safetensors"


def shipped_denoiser_path() -> Path:
    """Where the trained denoiser ships: next to the DCGAN weights in the package assets."""
    return default_weights_path().parent / SHIPPED_DENOISER


class LatentDCGANDenoiser:
    """Sampling-time eps(x, t, context): no autograd, inputs moved to the model's device.

    A network trained to predict v (header `prediction`) is converted to eps here.
    """

    def __init__(
        self,
        model: ConditionedDenoiser,
        device: torch.device,
        precision: str,
        schedule: NoiseSchedule,
        prediction: str = "eps",
    ) -> None:
        self.model = model
        self.device = device
        self.precision = precision
        self.prediction = check_prediction(prediction)
        self.alpha_bars = schedule.alpha_bars.to(device, torch.float32)

    def _eps(self, bound: Callable[[Tensor, Tensor], Tensor], x: Tensor, t: Tensor) -> Tensor:
        x, t = x.to(self.device), t.to(self.device)
        with torch.no_grad(), autocast_for(self.device, self.precision):
            output = bound(x, t).float()
        alpha_bar = self.alpha_bars[t].reshape(-1, *([1] * (x.ndim - 1)))
        return eps_from_output(self.prediction, output, x.float(), alpha_bar)

    def bind(self, context: Tensor | None) -> Callable[[Tensor, Tensor], Tensor]:
        """eps(x, t) with the context projected once for a whole sampling run."""
        with torch.no_grad():
            bound = self.model.bind(None if context is None else context.to(self.device))
        return lambda x, t: self._eps(bound, x, t)

    def __call__(self, x: Tensor, t: Tensor, context: Tensor | None) -> Tensor:
        return self.bind(context)(x, t)


class LatentDCGANModel:
    """latent_dcgan loaded for sampling: 100-d latent, 128-d dlib contexts, 64x64 images.

    Batches of 100 by default, as the demo and docs/results.md run it: the small denoiser
    is bound by per-call overhead (guided DDPM-1000: 3.8 images/s in batches of 20 against
    0.88 in batches of 2, docs/benchmarks.md).
    """

    capabilities = BackendCapabilities(synthetic_contexts=True, default_batch_size=100)

    def __init__(
        self,
        denoiser: LatentDCGANDenoiser,
        generator: DCGANGenerator,
        schedule: NoiseSchedule,
        provenance: dict[str, Any],
    ) -> None:
        config = denoiser.model.config
        self.denoiser = denoiser
        self.generator = generator
        self.schedule = schedule
        self.latent_shape = (config.latent_dim,)
        self.context_dim = config.context_dim
        self.image_size = (IMAGE_SIZE, IMAGE_SIZE)
        self._provenance = provenance

    def decode(self, latents: Tensor) -> Tensor:
        """Latents z (B, 100) -> images float in [0, 1], (B, 3, 64, 64), via the DCGAN."""
        return decode_latents(self.generator, latents)

    def describe(self) -> dict[str, Any]:
        """Backend name, denoiser and decoder files with their SHA-256, denoiser header."""
        return dict(self._provenance)

    def synthetic_contexts(self, n: int, seed: int) -> Contexts:
        """n seeded two-stage identities: dlib embeddings of fresh (never trained on) faces."""
        embedder = DlibEmbedder(box="fixed-box", size=CHIP_SIZE)
        return two_stage_contexts(self.generator, embedder, n, seed)


def _schedule_from(header: dict[str, Any], checkpoint: Path) -> NoiseSchedule:
    settings = header.get("schedule", {"name": "linear", "num_timesteps": 1000})
    try:
        return NoiseSchedule.named(settings["name"], int(settings["num_timesteps"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise FsbenchError(
            f"latent-dcgan denoiser {checkpoint}: bad 'schedule' in the header ({exc})"
        ) from exc


def load(
    checkpoint: Path | None, options: dict[str, Any], device: torch.device
) -> LatentDCGANModel:
    """Build the latent_dcgan backend from a denoiser file and the DCGAN decoder."""
    unknown = set(options) - KNOWN_OPTIONS
    if unknown:
        raise FsbenchError(
            f"latent_dcgan backend options {sorted(unknown)}: unknown; "
            f"expected {sorted(KNOWN_OPTIONS)}"
        )
    checkpoint = Path(checkpoint) if checkpoint is not None else shipped_denoiser_path()
    if not checkpoint.is_file():
        raise FsbenchError(
            f"latent_dcgan backend: denoiser weights {checkpoint} not found; train them "
            "(`fsbench train-generator latent-dcgan`, docs/embedded-default.md) and give the "
            f"{SHIPPED_DENOISER} it writes as the checkpoint"
        )
    model, header = load_denoiser(checkpoint, device)
    decoder_path = Path(options.get("decoder", default_weights_path()))
    generator = load_dcgan_generator(decoder_path, device)
    provenance = {
        "backend": "latent_dcgan",
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": sha256_file(checkpoint),
        "decoder": str(decoder_path),
        "decoder_sha256": sha256_file(decoder_path),
        "header": header,
    }
    schedule = _schedule_from(header, checkpoint)
    prediction = check_prediction(
        header.get("prediction", "eps"), f"latent-dcgan denoiser {checkpoint}"
    )
    precision = options.get("precision", "auto")
    denoiser = LatentDCGANDenoiser(model, device, precision, schedule, prediction)
    return LatentDCGANModel(denoiser, generator, schedule, provenance)
