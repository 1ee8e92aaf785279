"""What a denoiser network predicts, and how that becomes eps for the samplers.

- `eps`: the noise (Ho et al. 2020, eq. 14).
- `v`: v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0 (Salimans & Ho 2022, "Progressive
  Distillation", section 4), so eps = sqrt(1 - abar_t) x_t + sqrt(abar_t) v. A v-loss
  weighs x_0 errors at high noise where an eps-loss does not see them (there eps ~ x_t).

All samplers of this package consume eps; `eps_from_output` converts a network output.
"""

from __future__ import annotations

from torch import Tensor

from facesynth_bench.errors import FsbenchError

PREDICTIONS = ("eps", "v")


def check_prediction(prediction: str, where: str = "") -> str:
    """`prediction` if it is a known parameterisation, else an error naming `where`."""
    if prediction not in PREDICTIONS:
        prefix = f"{where}: " if where else ""
        raise FsbenchError(
            f"{prefix}prediction {prediction!r}: expected one of {', '.join(PREDICTIONS)}"
        )
    return prediction


def training_target(prediction: str, x0: Tensor, noise: Tensor, alpha_bar: Tensor) -> Tensor:
    """The regression target of a network predicting `prediction`; alpha_bar broadcasts to x0."""
    if check_prediction(prediction) == "eps":
        return noise
    return alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * x0


def eps_from_output(prediction: str, output: Tensor, x_t: Tensor, alpha_bar: Tensor) -> Tensor:
    """eps implied by a network output at x_t; alpha_bar broadcasts to x_t."""
    if check_prediction(prediction) == "eps":
        return output
    return (1 - alpha_bar).sqrt() * x_t + alpha_bar.sqrt() * output
