"""Convert the DigiFace DCGAN weights of `gan-face-generate` 1.1.1 into the package assets.

Reproduce with (the wheel is only read, never installed: it depends on wandb):

    .venv/bin/pip download --no-deps -d /tmp/gfg gan-face-generate==1.1.1
    .venv/bin/python scripts/convert_dcgan_weights.py \
        /tmp/gfg/gan_face_generate-1.1.1-py3-none-any.whl

Writes facesynth_bench/assets/dcgan_digiface.safetensors (float16 convolutions), the NOTICE
beside it, and tests/backends/latent_dcgan/fixtures/dcgan_reference.safetensors: seeded
latents and the images that the ORIGINAL float32 weights produce through an independent,
literal nn.Sequential build of the tutorial network (eval mode).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import torch
from torch import nn

from facesynth_bench.atomic_files import write_bytes_atomic
from facesynth_bench.backends.latent_dcgan.dcgan import (
    LATENT_DIM,
    WEIGHTS_NAME,
    convert_tutorial_state_dict,
    decode_latents,
    load_dcgan_generator,
)
from facesynth_bench.backends.latent_dcgan.weight_files import save_weights

REPO = Path(__file__).resolve().parents[1]
WEIGHTS_MEMBER = "gan_face_generate/weights.tar"
LICENSE_MEMBER = "gan_face_generate-1.1.1.dist-info/licenses/LICENSE"
FIXTURE_LATENTS = 8
FIXTURE_SEED = 20231
CHECK_LATENTS = 2048
CHECK_SEED = 7


def tutorial_generator() -> nn.Sequential:
    """The PyTorch DCGAN tutorial generator (nz=100, ngf=64, nc=3), written out literally."""
    return nn.Sequential(
        nn.ConvTranspose2d(100, 512, 4, 1, 0, bias=False),
        nn.BatchNorm2d(512),
        nn.ReLU(True),
        nn.ConvTranspose2d(512, 256, 4, 2, 1, bias=False),
        nn.BatchNorm2d(256),
        nn.ReLU(True),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False),
        nn.BatchNorm2d(128),
        nn.ReLU(True),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(True),
        nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


@torch.no_grad()
def reference_images(reference: nn.Sequential, z: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] from the original network, in batches of 256."""
    chunks = [reference(batch.reshape(-1, LATENT_DIM, 1, 1)) for batch in z.split(256)]
    return (torch.cat(chunks) + 1) / 2


def notice_text(license_text: str, wheel_sha: str, weights_sha: str, max_error: float) -> str:
    """The NOTICE that travels with the converted weights: origin, checksums, licence."""
    return f"""facesynth_bench/assets/{WEIGHTS_NAME}

Origin: the DCGAN generator weights shipped in the PyPI package gan-face-generate 1.1.1
(https://pypi.org/project/gan-face-generate/1.1.1/, homepage
https://github.com/chien-liu/DCGAN-PyTorch), file gan_face_generate/weights.tar of
gan_face_generate-1.1.1-py3-none-any.whl.
  sha256 of the wheel:       {wheel_sha}
  sha256 of weights.tar:     {weights_sha}
The network is the standard DCGAN generator of the PyTorch DCGAN tutorial (Radford et al.
2016; nz=100, ngf=64, nc=3), trained by the package author on DigiFace-1M (Bae et al.
2023, synthetic faces rendered from consented head scans).

Conversion: scripts/convert_dcgan_weights.py read the `netG_state_dict` entry with
torch.load(weights_only=True), renamed the keys to facesynth_bench's DCGANGenerator and
stored them in safetensors: convolution weights as float16, BatchNorm parameters and
running statistics as float32. Decoded images differ from the
float32 original by at most {max_error:.5f} in [0, 1] units ({max_error * 255:.3f}/255)
over {CHECK_LATENTS} standard-normal latents (seed {CHECK_SEED}).

Licence of gan-face-generate (MIT), as shipped in the wheel's metadata:

{license_text.strip()}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="gan_face_generate-1.1.1-py3-none-any.whl")
    parser.add_argument("--assets", type=Path, default=REPO / "facesynth_bench" / "assets")
    parser.add_argument(
        "--fixture",
        type=Path,
        default=REPO / "tests/backends/latent_dcgan/fixtures/dcgan_reference.safetensors",
    )
    args = parser.parse_args(argv)

    wheel_bytes = args.wheel.read_bytes()
    with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as wheel:
        weights_bytes = wheel.read(WEIGHTS_MEMBER)
        license_text = wheel.read(LICENSE_MEMBER).decode("utf-8")
    wheel_sha = hashlib.sha256(wheel_bytes).hexdigest()
    weights_sha = hashlib.sha256(weights_bytes).hexdigest()
    checkpoint = torch.load(io.BytesIO(weights_bytes), map_location="cpu", weights_only=True)
    original = checkpoint["netG_state_dict"]

    reference = tutorial_generator()
    reference.load_state_dict({key.removeprefix("main."): v for key, v in original.items()})
    reference.eval()

    converted = {
        # BatchNorm tensors stay float32: rounding them too pushes images past 1/255.
        key: (value.half() if key.endswith("conv.weight") or key.startswith("to_rgb") else value)
        for key, value in convert_tutorial_state_dict(original).items()
    }
    header = {
        "config": {"latent_dim": LATENT_DIM, "width": 64, "channels": 3},
        "origin": f"gan-face-generate 1.1.1 {WEIGHTS_MEMBER}",
        "origin_sha256": weights_sha,
        "licence": "MIT, see NOTICE",
    }
    weights_path = args.assets / WEIGHTS_NAME
    save_weights(weights_path, converted, header)

    generator = load_dcgan_generator(weights_path)
    check_rng = torch.Generator().manual_seed(CHECK_SEED)
    check_z = torch.randn(CHECK_LATENTS, LATENT_DIM, generator=check_rng)
    max_error = float(
        (decode_latents(generator, check_z) - reference_images(reference, check_z)).abs().max()
    )
    print(f"float16 weights: max |image - original| = {max_error:.6f} ({max_error * 255:.3f}/255)")
    if max_error >= 1 / 255:
        print("error: float16 conversion is not within 1/255 of the original", file=sys.stderr)
        return 1

    fixture_z = torch.randn(
        FIXTURE_LATENTS, LATENT_DIM, generator=torch.Generator().manual_seed(FIXTURE_SEED)
    )
    fixture = {"__latents": fixture_z, "__images": reference_images(reference, fixture_z)}
    save_weights(args.fixture, fixture, {"seed": FIXTURE_SEED, "origin_sha256": weights_sha})
    notice = notice_text(license_text, wheel_sha, weights_sha, max_error)
    write_bytes_atomic(args.assets / "NOTICE", notice.encode("utf-8"))
    print(f"wrote {weights_path}, {args.assets / 'NOTICE'}, {args.fixture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
