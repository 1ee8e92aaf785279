"""The denoiser contract every backend implements: an epsilon model eps(x_t, t, context)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from torch import Tensor


@runtime_checkable
class Denoiser(Protocol):
    """An epsilon-prediction model (Ho et al. 2020, eq. 14 target).

    `x` is the noisy sample x_t (B, *latent_shape) in the model's latent units, `t` the
    integer training timesteps (B,) in [0, T), `context` the raw identity context (B, C)
    such as an L2-normalised 512-d face embedding, or None for the null context as the
    backend's original defines it. Returns the predicted noise, same shape as `x`.
    """

    def __call__(self, x: Tensor, t: Tensor, context: Tensor | None) -> Tensor: ...


@runtime_checkable
class ContextBindingDenoiser(Denoiser, Protocol):
    """A denoiser that can precompute its context path once per sampling run.

    `bind(context)` returns an eps(x, t) callable whose output equals
    `self(x, t, context)`; the context-only work (projections, norms) happens once there
    instead of at every step. Optional: samplers fall back to calling the model directly.
    """

    def bind(self, context: Tensor | None) -> BoundDenoiser: ...


class BoundDenoiser(Protocol):
    """An epsilon model with its context already fixed: eps(x_t, t)."""

    def __call__(self, x: Tensor, t: Tensor) -> Tensor: ...


def bind_context(denoiser: Denoiser, context: Tensor | None) -> BoundDenoiser:
    """Fix `context` for a whole sampling run, using the model's own `bind` when it has one."""
    if isinstance(denoiser, ContextBindingDenoiser):
        return denoiser.bind(context)

    def bound(x: Tensor, t: Tensor) -> Tensor:
        return denoiser(x, t, context)

    return bound
