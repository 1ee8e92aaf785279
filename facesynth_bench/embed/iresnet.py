"""iResNet face recognition backbones, state-dict compatible with insightface and ElasticFace.

Architecture of insightface `recognition/arcface_torch/backbones/iresnet.py` (Deng et al.,
ArcFace, CVPR 2019; Duta et al., Improved ResNet): IBasicBlock = BN-conv3x3-BN-PReLU-
conv3x3(stride)-BN plus a 1x1-conv+BN shortcut where the shape changes; stem conv3x3 (64)
-BN-PReLU; four stride-2 stages of 64/128/256/512 channels; head BN2d -> flatten ->
dropout -> Linear(512*7*7, 512) -> BatchNorm1d with its weight frozen at 1. Modules are
built in the original order and initialised as the original does, so a model built after
torch.manual_seed(s) has the original's weights for that seed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from facesynth_bench.errors import FsbenchError
from facesynth_bench.safe_loading import load_tensor_file

ARCHITECTURES: dict[str, tuple[int, int, int, int]] = {
    "r18": (2, 2, 2, 2),
    "r34": (3, 4, 6, 3),
    "r50": (3, 4, 14, 3),
    "r100": (3, 13, 30, 3),
    "r200": (6, 26, 60, 6),
}
INPUT_SIZE = 112
_FC_SCALE = 7 * 7


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


class IBasicBlock(nn.Module):
    """BN-conv3x3-BN-PReLU-conv3x3-BN with an identity or 1x1-conv shortcut."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes, eps=1e-05)
        self.conv1 = _conv3x3(inplanes, planes)
        self.bn2 = nn.BatchNorm2d(planes, eps=1e-05)
        self.prelu = nn.PReLU(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn3 = nn.BatchNorm2d(planes, eps=1e-05)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        identity = x if self.downsample is None else self.downsample(x)
        return out + identity


class IResNet(nn.Module):
    """iResNet mapping (N, 3, 112, 112) images in [-1, 1] to (N, num_features) features."""

    def __init__(
        self, layers: tuple[int, ...], dropout: float = 0.0, num_features: int = 512
    ) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, eps=1e-05)
        self.prelu = nn.PReLU(64)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1])
        self.layer3 = self._make_layer(256, layers[2])
        self.layer4 = self._make_layer(512, layers[3])
        self.bn2 = nn.BatchNorm2d(512, eps=1e-05)
        self.dropout = nn.Dropout(p=dropout, inplace=True)
        self.fc = nn.Linear(512 * _FC_SCALE, num_features)
        self.features = nn.BatchNorm1d(num_features, eps=1e-05)
        nn.init.constant_(self.features.weight, 1.0)
        self.features.weight.requires_grad = False
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, 0, 0.1)
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)

    def _make_layer(self, planes: int, blocks: int) -> nn.Sequential:
        downsample = nn.Sequential(
            nn.Conv2d(self.inplanes, planes, kernel_size=1, stride=2, bias=False),
            nn.BatchNorm2d(planes, eps=1e-05),
        )
        layers = [IBasicBlock(self.inplanes, planes, 2, downsample)]
        self.inplanes = planes
        layers.extend(IBasicBlock(planes, planes) for _ in range(1, blocks))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.dropout(torch.flatten(self.bn2(x), 1))
        return self.features(self.fc(x))


def build_iresnet(arch: str, dropout: float = 0.0, num_features: int = 512) -> IResNet:
    """Build an iResNet by architecture name (r18, r34, r50, r100, r200)."""
    if arch not in ARCHITECTURES:
        raise FsbenchError(f"iresnet architecture {arch!r}: expected one of {list(ARCHITECTURES)}")
    return IResNet(ARCHITECTURES[arch], dropout, num_features)


_WRAPPER_KEYS = ("state_dict", "model", "backbone")
_PREFIXES = ("module.", "backbone.", "model.")


def normalise_state_dict(raw: Mapping[str, object], source: str) -> dict[str, torch.Tensor]:
    """Unwrap a checkpoint dict and strip DataParallel/DDP/wrapper prefixes from its keys."""
    state = raw
    for key in _WRAPPER_KEYS:
        if isinstance(state.get(key), Mapping) and not any(
            isinstance(v, torch.Tensor) for v in state.values()
        ):
            state = state[key]
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise FsbenchError(f"--checkpoint {source}: no tensors found (not a state dict?)")
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if all(k.startswith(prefix) for k in tensors):
                tensors = {k[len(prefix) :]: v for k, v in tensors.items()}
                changed = True
    return tensors


def load_checkpoint_file(path: Path) -> dict[str, torch.Tensor]:
    """Load a `.pth`/`.pt` (weights-only) or `.safetensors` state dict; no pickled code runs."""
    raw = load_tensor_file(path, "checkpoint")
    if not isinstance(raw, Mapping):
        raise FsbenchError(f"checkpoint {path}: expected a state dict, got {type(raw).__name__}")
    return normalise_state_dict(raw, str(path))


_LAYER_KEY = re.compile(r"^layer([1-4])\.(\d+)\.")


def detect_architecture(state: Mapping[str, torch.Tensor], source: str) -> str:
    """The architecture name whose block counts match the `layerN.M.` keys of a state dict."""
    counts = [0, 0, 0, 0]
    for key in state:
        match = _LAYER_KEY.match(key)
        if match:
            stage, block = int(match[1]) - 1, int(match[2])
            counts[stage] = max(counts[stage], block + 1)
    for name, layers in ARCHITECTURES.items():
        if tuple(counts) == layers:
            return name
    raise FsbenchError(
        f"--checkpoint {source}: blocks per stage {tuple(counts)} match no iresnet "
        f"({', '.join(f'{k} {v}' for k, v in ARCHITECTURES.items())})"
    )


def load_matching_state(model: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load `state` into `model`, refusing missing, unexpected or mis-shaped keys by name."""
    own = model.state_dict()
    state = dict(state)
    for key in own:  # step counters of BatchNorm do not affect inference
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros((), dtype=torch.long)
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    for label, items in (
        ("missing", missing),
        ("unexpected", unexpected),
        ("shape mismatch", mismatched),
    ):
        if items:
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            problems.append(f"{len(items)} {label}: {', '.join(items[:5])}{more}")
    if problems:
        raise FsbenchError(f"--checkpoint {source} does not fit the model: " + "; ".join(problems))
    model.load_state_dict({k: state[k].to(own[k].dtype) for k in own}, strict=True)
