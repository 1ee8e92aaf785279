"""Guidance schedules' w_t, and one batched forward == the originals' two passes."""

from __future__ import annotations

import json

import pytest
import torch
from fixture_files import FIXTURES
from safetensors.torch import load_file

from facesynth_bench.backends.idiff_face.loader import IDiffFaceDenoiser, unet_config_from
from facesynth_bench.backends.idiff_face.unet import ConditionalUNet
from facesynth_bench.diffusion.guidance import NegativeGuidance, two_pass_guidance
from facesynth_bench.diffusion.guidance_schedules import GUIDANCE_SCHEDULES, GuidanceSchedule
from facesynth_bench.errors import FsbenchError

T = 1000


@pytest.mark.parametrize(
    ("schedule", "t", "w"),
    [
        (GuidanceSchedule("none"), 500, 0.0),
        (GuidanceSchedule("constant", 0.5), 999, 0.5),
        (GuidanceSchedule("constant", 0.5), 0, 0.5),
        (GuidanceSchedule("linear", 1.0), 999, 0.001),
        (GuidanceSchedule("linear", 1.0), 500, 0.5),
        (GuidanceSchedule("linear", 1.0), 0, 1.0),
        (GuidanceSchedule("linear", 2.0), 250, 1.5),
        (GuidanceSchedule("reverse", 1.0), 999, 0.999),
        (GuidanceSchedule("reverse", 1.0), 0, 0.0),
        (GuidanceSchedule("piecewise", points=((0, 1), (0.5, 0), (1, 0))), 250, 0.5),
        (GuidanceSchedule("piecewise", points=((0, 1), (0.5, 0), (1, 0))), 800, 0.0),
    ],
)
def test_weight_at_chosen_steps(schedule: GuidanceSchedule, t: int, w: float) -> None:
    assert schedule.weight(t, T) == pytest.approx(w, abs=1e-12)


def test_a_registered_callable_is_a_schedule() -> None:
    GUIDANCE_SCHEDULES.register("test-square", lambda fraction, w_max: w_max * fraction**2)
    assert GuidanceSchedule("test-square", 2.0).weight(500, T) == pytest.approx(0.5)


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(FsbenchError, match=r"unknown guidance schedule 'linar'.*'linear'"):
        GuidanceSchedule("linar", 1.0)
    with pytest.raises(FsbenchError, match="increasing"):
        GuidanceSchedule("piecewise", points=((0.5, 1), (0.2, 0)))
    with pytest.raises(FsbenchError, match="two"):
        GuidanceSchedule("piecewise", points=((0.5, 1),))


@pytest.fixture(scope="module")
def small_denoiser() -> IDiffFaceDenoiser:
    tensors = load_file(str(FIXTURES / "idiff_unet_small.safetensors"))
    args = json.loads((FIXTURES / "idiff_unet_small.json").read_text())["constructor_args"]
    unet = ConditionalUNet(unet_config_from(args)).eval()
    unet.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("__")})
    return IDiffFaceDenoiser(unet, torch.device("cpu"), "fp32")


@pytest.mark.parametrize(
    ("schedule", "t"),
    [
        (GuidanceSchedule("constant", 0.5), 999),
        (GuidanceSchedule("linear", 1.0), 3),
        (GuidanceSchedule("reverse", 1.0), 600),
    ],
)
def test_batched_guidance_equals_two_passes(
    small_denoiser: IDiffFaceDenoiser, schedule: GuidanceSchedule, t: int
) -> None:
    gen = torch.Generator().manual_seed(t)
    x = torch.randn(3, 3, 32, 32, generator=gen)
    positive = torch.nn.functional.normalize(torch.randn(3, 512, generator=gen), dim=1)
    negative = positive.roll(1, 0)
    steps = torch.full((3,), t)
    batched = NegativeGuidance(small_denoiser, positive, negative, schedule, T)(x, steps)
    w = schedule.weight(t, T)
    reference = two_pass_guidance(small_denoiser, x, steps, positive, negative, w)
    torch.testing.assert_close(batched, reference, atol=1e-5, rtol=1e-5)
    assert (batched - small_denoiser(x, steps, positive)).abs().max() > 1e-3


class _CountingDenoiser:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, x, t, context):
        self.batches.append(x.shape[0])
        return x * 0 + context.sum(1).view(-1, 1)


def test_guided_runs_one_forward_of_2b_and_unguided_one_of_b() -> None:
    positive, negative = torch.ones(4, 2), torch.zeros(4, 2)
    x, t = torch.zeros(4, 1), torch.full((4,), 10)
    model = _CountingDenoiser()
    out = NegativeGuidance(model, positive, negative, GuidanceSchedule("constant", 0.5), T)(x, t)
    assert model.batches == [8]
    torch.testing.assert_close(out, torch.full((4, 1), 1.5 * 2 - 0.5 * 0))
    model.batches.clear()
    NegativeGuidance(model, positive, None, GuidanceSchedule("none"), T)(x, t)
    assert model.batches == [4]
    with pytest.raises(FsbenchError, match="needs negative"):
        NegativeGuidance(model, positive, None, GuidanceSchedule("linear", 1.0), T)
