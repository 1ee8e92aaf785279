"""The embedded default backend: identity-conditioned diffusion over a DCGAN's latent z.

`dcgan` is the decoder (DigiFace DCGAN, weights in `facesynth_bench/assets/`), `denoiser`
the epsilon model conditioned on 128-d dlib embeddings, `model.load` the backend entry.
"""

from facesynth_bench.backends.latent_dcgan.model import load

__all__ = ["load"]
