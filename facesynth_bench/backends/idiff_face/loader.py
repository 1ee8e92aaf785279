"""The `idiff_face` backend: UNet + VQ-f4 decoder from the released files, as a GeneratorModel.

Options (the `[backend.options]` table of a preset; others are refused):
    decoder: path of `first_stage_decoder_state_dict.pt` (default: beside the checkpoint,
        or, for a checkpoint in the original repository's layout
        `<repo>/trained_models/<run>/checkpoints/`, `<repo>/models/autoencoder/`)
    encoder: path of `first_stage_encoder_state_dict.pt` (optional; enables `encode`)
    unet: UNet settings overriding the hydra config / the released defaults
    first_stage: VQ-f4 settings (ch, ch_mult, ...) if not the released ones
    latent_size: latent side in pixels (default 32, i.e. 128x128 images)
    precision: auto | fp32 | bf16 | fp16 (autocast on CUDA; on CPU bf16 converts the
        UNet's weights to bf16 once, which avoids autocast's per-step weight casts).
        auto = bf16 where the device supports it (CUDA; CPUs with avx512_bf16), else fp32
    channels_last: bool (default true on CUDA)
    compile: bool, torch.compile the UNet's per-step path (default false)
    random_weights: bool, skip loading and use random weights (benchmarks only)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from facesynth_bench.atomic_files import sha256_file
from facesynth_bench.backends import BackendCapabilities
from facesynth_bench.backends.idiff_face.checkpoint import (
    find_hydra_config,
    load_checked,
    read_hydra_sections,
    read_state_dict,
    split_ddpm_checkpoint,
)
from facesynth_bench.backends.idiff_face.unet import ConditionalUNet, ContextCache, UNetConfig
from facesynth_bench.backends.idiff_face.vq_f4 import (
    VQConfig,
    VQDecoder,
    VQEncoder,
    latents_to_unit_images,
    unit_images_to_latents,
)
from facesynth_bench.devices import autocast_for
from facesynth_bench.diffusion.schedules import NoiseSchedule
from facesynth_bench.errors import FsbenchError

DECODER_FILE = "first_stage_decoder_state_dict.pt"
REPOSITORY_DECODER = Path("models") / "autoencoder" / DECODER_FILE
"""Where the original repository keeps the decoder, relative to its root."""
KNOWN_OPTIONS = {
    "decoder",
    "encoder",
    "unet",
    "first_stage",
    "latent_size",
    "precision",
    "channels_last",
    "compile",
    "random_weights",
}
_UNET_FIELDS = {f.name for f in fields(UNetConfig)}
_TUPLE_FIELDS = {"channel_multipliers", "is_attention"}


def unet_config_from(settings: dict[str, Any]) -> UNetConfig:
    """UNetConfig from hydra-style settings; unknown keys (e.g. `_target_`) are ignored."""
    known = {k: v for k, v in settings.items() if k in _UNET_FIELDS}
    for name in _TUPLE_FIELDS & known.keys():
        known[name] = tuple(known[name])
    return UNetConfig(**known)


def resolve_precision(device: torch.device, precision: str) -> str:
    """`auto` -> bf16 where the device runs it natively, else fp32; others unchanged."""
    if precision != "auto":
        return precision
    if device.type == "cpu":
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    return "auto"  # autocast_for picks bf16 or fp16 on CUDA


@contextlib.contextmanager
def precision_context(device: torch.device, precision: str) -> Iterator[None]:
    """Autocast on CUDA (autocast_for); on CPU nothing: bf16 there means bf16 weights."""
    if device.type == "cpu":
        yield
    else:
        with autocast_for(device, precision):
            yield


class IDiffFaceDenoiser:
    """Denoiser over IDiff-Face's UNet; `bind` encodes the context once per sampling run."""

    def __init__(self, unet: ConditionalUNet, device: torch.device, precision: str) -> None:
        self.unet = unet
        self.device = device
        self.precision = precision
        self.dtype = unet.context_emb.weight.dtype
        self._step = unet.denoise

    def compile(self) -> None:
        """torch.compile the per-step path (worth it for long runs on GPUs)."""
        self._step = torch.compile(self.unet.denoise)

    @torch.no_grad()
    def encode(self, context: Tensor | None) -> ContextCache:
        """Cross-attention keys/values of raw contexts (B, 512), or of the null context."""
        with precision_context(self.device, self.precision):
            if context is None:
                return self.unet.encode_context(None, 1)
            context = context.to(self.device, self.dtype)
            return self.unet.encode_context(context, context.shape[0])

    @torch.no_grad()
    def denoise(self, x: Tensor, t: Tensor, cache: ContextCache) -> Tensor:
        """eps (float32) for latents x and timesteps t with an encoded context."""
        with precision_context(self.device, self.precision):
            return self._step(x.to(self.dtype), t, cache).float()

    def bind(self, context: Tensor | None):
        """eps(x, t) with this context fixed (computed once)."""
        cache = self.encode(context)
        return lambda x, t: self.denoise(x, t, cache)

    def __call__(self, x: Tensor, t: Tensor, context: Tensor | None) -> Tensor:
        return self.denoise(x, t, self.encode(context))


class IDiffFaceGenerator:
    """IDiff-Face loaded for sampling: latent 3x32x32, 512-d contexts, 128x128 images.

    Its images are aligned face crops (it was trained on aligned FFHQ crops).
    """

    capabilities = BackendCapabilities(aligned_output=True, default_batch_size=16)

    def __init__(
        self,
        denoiser: IDiffFaceDenoiser,
        decoder: VQDecoder,
        schedule: NoiseSchedule,
        provenance: dict[str, Any],
        latent_size: int,
        downsampling: int,
        encoder: VQEncoder | None = None,
    ) -> None:
        config = denoiser.unet.config
        self.denoiser = denoiser
        self.decoder = decoder
        self.encoder = encoder
        self.schedule = schedule
        self.context_dim = config.context_input_channels
        self.latent_shape = (config.input_channels, latent_size, latent_size)
        self.image_size = (latent_size * downsampling, latent_size * downsampling)
        self._provenance = provenance

    @torch.no_grad()
    def decode(self, latents: Tensor) -> Tensor:
        """VQ-decode latents (B, 3, s, s) to images float in [0, 1], (B, 3, 4s, 4s)."""
        with precision_context(self.denoiser.device, self.denoiser.precision):
            return latents_to_unit_images(self.decoder, latents.to(self.denoiser.device))

    @torch.no_grad()
    def encode(self, images: Tensor) -> Tensor:
        """VQ-encode images float in [0, 1] (B, 3, 4s, 4s) to latents (B, 3, s, s)."""
        if self.encoder is None:
            raise FsbenchError("IDiff-Face: set backend option 'encoder' to encode images")
        return unit_images_to_latents(self.encoder, images.to(self.denoiser.device))

    def describe(self) -> dict[str, Any]:
        """Backend name, files with their SHA-256, UNet settings."""
        return dict(self._provenance)


def decoder_candidates(checkpoint: Path) -> list[Path]:
    """Decoder paths to try: beside the checkpoint, then the original repository's models/."""
    candidates = [checkpoint.parent / DECODER_FILE]
    candidates += [
        folder.parent / REPOSITORY_DECODER
        for folder in checkpoint.parents
        if folder.name == "trained_models"
    ]
    return candidates


def _decoder_path(checkpoint: Path, options: dict[str, Any]) -> Path:
    if "decoder" in options:
        path = Path(options["decoder"])
        if not path.is_file():
            raise FsbenchError(
                f"IDiff-Face decoder {path} (backend option 'decoder'): no such file"
            )
        return path
    candidates = decoder_candidates(checkpoint)
    for path in candidates:
        if path.is_file():
            return path
    raise FsbenchError(
        f"IDiff-Face decoder {DECODER_FILE} not found for checkpoint {checkpoint} (looked in "
        f"{', '.join(str(p.parent) for p in candidates)}); set backend option 'decoder' to it"
    )


def check_options(options: dict[str, Any]) -> None:
    """Refuse backend options this backend does not know, listing the ones it does."""
    unknown = set(options) - KNOWN_OPTIONS
    if unknown:
        raise FsbenchError(
            f"idiff_face backend options {sorted(unknown)}: unknown; "
            f"expected {sorted(KNOWN_OPTIONS)}"
        )


def load_idiff_face(
    checkpoint: Path | None, options: dict[str, Any], device: torch.device
) -> IDiffFaceGenerator:
    """Build IDiff-Face from `ema_averaged_model.ckpt` (+ .hydra config) and the VQ decoder."""
    check_options(options)
    random_weights = bool(options.get("random_weights"))
    if checkpoint is None and not random_weights:
        raise FsbenchError(
            "idiff_face needs a checkpoint (the released ema_averaged_model.ckpt); none was "
            "given and the preset names none"
        )
    if checkpoint is not None and not random_weights:
        if not checkpoint.is_file():
            raise FsbenchError(f"checkpoint {checkpoint}: no such file")
        decoder_path = _decoder_path(checkpoint, options)
    precision = resolve_precision(device, options.get("precision", "auto"))
    settings: dict[str, Any] = {}
    diffusion: dict[str, Any] = {}
    provenance: dict[str, Any] = {"backend": "idiff_face"}
    hydra = find_hydra_config(checkpoint) if checkpoint is not None else None
    if hydra is not None:
        settings, diffusion = read_hydra_sections(hydra)
        provenance["hydra_config"] = str(hydra)
    settings.update(options.get("unet", {}))
    config = unet_config_from(settings)
    unet = ConditionalUNet(config)
    first_stage = dict(options.get("first_stage", {}))
    if "ch_mult" in first_stage:
        first_stage["ch_mult"] = tuple(first_stage["ch_mult"])
    vq_config = VQConfig(**first_stage)
    decoder = VQDecoder(vq_config)
    betas = None
    if random_weights:
        provenance["weights"] = "random (benchmark)"
    else:
        unet_state, betas = split_ddpm_checkpoint(read_state_dict(checkpoint), checkpoint)
        load_checked(unet, unet_state, checkpoint)
        load_checked(decoder, read_state_dict(decoder_path), decoder_path)
        provenance.update(
            checkpoint=str(checkpoint),
            checkpoint_sha256=sha256_file(checkpoint),
            decoder=str(decoder_path),
            decoder_sha256=sha256_file(decoder_path),
        )
    encoder = None
    if "encoder" in options:
        encoder_path = Path(options["encoder"])
        encoder = VQEncoder(vq_config)
        load_checked(encoder, read_state_dict(encoder_path), encoder_path)
        encoder = encoder.eval().to(device)
        provenance.update(encoder=str(encoder_path), encoder_sha256=sha256_file(encoder_path))
    if betas is not None:
        schedule = NoiseSchedule(betas)
    else:
        schedule = NoiseSchedule.named(
            diffusion.get("schedule_type", "linear"), int(diffusion.get("T", 1000))
        )
    memory_format = (
        torch.channels_last
        if options.get("channels_last", device.type == "cuda")
        else torch.contiguous_format
    )
    unet = unet.eval().to(device, memory_format=memory_format)
    if device.type == "cpu" and precision == "bf16":
        unet = unet.to(torch.bfloat16)
    decoder = decoder.eval().to(device)
    denoiser = IDiffFaceDenoiser(unet, device, precision)
    if options.get("compile"):
        denoiser.compile()
    provenance["unet"] = {f: getattr(config, f) for f in sorted(_UNET_FIELDS)}
    provenance["precision"] = precision
    latent_size = int(options.get("latent_size", 32))
    return IDiffFaceGenerator(
        denoiser, decoder, schedule, provenance, latent_size, vq_config.downsampling, encoder
    )
