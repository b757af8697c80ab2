"""HRNet-W48 backbone of ProPose: a volumetric-heatmap head plus a pooled global feature.

The module tree and attribute names mirror the released checkpoint (`preact.*`, docs/model.md, The released checkpoint)
so that `propose_hr48_xyz.pth` loads strictly; `None` slots in transitions and fuse layers
are kept so that positional indices (and therefore key names) line up.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from propose_backend.skeleton import NUM_HEATMAP_JOINTS

BN_MOMENTUM = 0.1
BN_EPS = 1e-5
HEATMAP_DEPTH = 64
FEATURE_DIM = 2048


@dataclass(frozen=True)
class HRNetLayout:
    """Widths and depths of the HRNet; the defaults are the released W48 layout (docs/model.md, The network).

    Other layouts exist for CPU smoke runs and tests, where W48 at 256 px is far too slow;
    they keep the module tree (and thus the key pattern) and only shrink the numbers.
    """

    stem_channels: int = 64
    layer1_blocks: int = 4
    blocks_per_branch: int = 4
    stage_channels: tuple[tuple[int, ...], ...] = ((48, 96), (48, 96, 192), (48, 96, 192, 384))
    stage_modules: tuple[int, ...] = (1, 4, 3)
    incre_planes: tuple[int, ...] = (32, 64, 128, 256)  # classification head, ×4 by the bottleneck
    feature_dim: int = FEATURE_DIM
    heatmap_depth: int = HEATMAP_DEPTH


W48_LAYOUT = HRNetLayout()


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


def _conv3x3(in_ch: int, out_ch: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=bias)


def _conv1x1(in_ch: int, out_ch: int, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=1, bias=bias)


class BasicBlock(nn.Module):
    """Two 3×3 convs with an identity shortcut; channels never change inside HR branches."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(channels, channels)
        self.bn1 = _batch_norm(channels)
        self.conv2 = _conv3x3(channels, channels)
        self.bn2 = _batch_norm(channels)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + x)


class Bottleneck(nn.Module):
    """1×1 → 3×3 → 1×1 (×4 channels) residual block; a 1×1 projection when widths differ."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int) -> None:
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = _conv1x1(in_ch, planes)
        self.bn1 = _batch_norm(planes)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = _batch_norm(planes)
        self.conv3 = _conv1x1(planes, out_ch)
        self.bn3 = _batch_norm(out_ch)
        self.downsample = (
            nn.Sequential(_conv1x1(in_ch, out_ch), _batch_norm(out_ch)) if in_ch != out_ch else None
        )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


def _conv_bn_relu(in_ch: int, out_ch: int, stride: int) -> nn.Sequential:
    return nn.Sequential(_conv3x3(in_ch, out_ch, stride), _batch_norm(out_ch), nn.ReLU(inplace=True))


def _fuse_path(channels: tuple[int, ...], target: int, source: int) -> nn.Module | None:
    """Brings branch `source` to the resolution and width of branch `target` (None = identity)."""
    if source == target:
        return None
    if source > target:
        return nn.Sequential(
            _conv1x1(channels[source], channels[target]),
            _batch_norm(channels[target]),
            nn.Upsample(scale_factor=2 ** (source - target), mode="nearest"),
        )
    steps: list[nn.Module] = []
    for step in range(target - source):
        last = step == target - source - 1
        out_ch = channels[target] if last else channels[source]
        layers: list[nn.Module] = [_conv3x3(channels[source], out_ch, stride=2), _batch_norm(out_ch)]
        if not last:
            layers.append(nn.ReLU(inplace=True))
        steps.append(nn.Sequential(*layers))
    return nn.Sequential(*steps)


class HighResolutionModule(nn.Module):
    """Parallel multi-resolution branches followed by all-to-all fusion (multi-scale output)."""

    def __init__(self, channels: tuple[int, ...], blocks: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*(BasicBlock(c) for _ in range(blocks))) for c in channels
        )
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(_fuse_path(channels, i, j) for j in range(len(channels)))
            for i in range(len(channels))
        )

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        fused = []
        for paths in self.fuse_layers:
            total = None
            for x, path in zip(xs, paths):
                y = x if path is None else path(x)
                total = y if total is None else total + y
            fused.append(F.relu(total))
        return fused


def _transition(prev: tuple[int, ...], cur: tuple[int, ...]) -> nn.ModuleList:
    """Adapts existing branches whose width changes and spawns new, half-resolution branches."""
    layers: list[nn.Module | None] = []
    for i, out_ch in enumerate(cur):
        if i < len(prev):
            layers.append(_conv_bn_relu(prev[i], out_ch, stride=1) if prev[i] != out_ch else None)
        else:
            steps = [
                _conv_bn_relu(prev[-1], out_ch if k == i - len(prev) else prev[-1], stride=2)
                for k in range(i + 1 - len(prev))
            ]
            layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


def _apply_transition(transition: nn.ModuleList, xs: list[Tensor]) -> list[Tensor]:
    """New branches are fed from the lowest-resolution existing branch, as in HRNet."""
    out = []
    for i, layer in enumerate(transition):
        source = xs[i] if i < len(xs) else xs[-1]
        out.append(source if layer is None else layer(source))
    return out


class HRNetW48(nn.Module):
    """Pose-HRNet returning (heatmap logits (B, 34·D, H/4, W/4), feature (B, feature_dim)).

    W48 (D = 64, feature 2048) unless another `layout` is given.
    """

    def __init__(self, layout: HRNetLayout = W48_LAYOUT) -> None:
        super().__init__()
        self.layout = layout
        stem = layout.stem_channels
        self.conv1 = _conv3x3(3, stem, stride=2)
        self.bn1 = _batch_norm(stem)
        self.conv2 = _conv3x3(stem, stem, stride=2)
        self.bn2 = _batch_norm(stem)
        layer1_out = stem * Bottleneck.expansion
        self.layer1 = nn.Sequential(
            Bottleneck(stem, stem),
            *(Bottleneck(layer1_out, stem) for _ in range(layout.layer1_blocks - 1)),
        )

        prev: tuple[int, ...] = (layer1_out,)
        stages = zip(layout.stage_channels, layout.stage_modules)
        for index, (channels, modules) in enumerate(stages, start=1):
            setattr(self, f"transition{index}", _transition(prev, channels))
            setattr(
                self,
                f"stage{index + 1}",
                nn.Sequential(*(HighResolutionModule(channels, layout.blocks_per_branch)
                                for _ in range(modules))),
            )
            prev = channels

        final_channels = layout.stage_channels[-1]
        incre_out = [p * Bottleneck.expansion for p in layout.incre_planes]
        self.incre_modules = nn.ModuleList(
            nn.Sequential(Bottleneck(c, p)) for c, p in zip(final_channels, layout.incre_planes)
        )
        self.downsamp_modules = nn.ModuleList(
            nn.Sequential(
                _conv3x3(incre_out[i], incre_out[i + 1], stride=2, bias=True),
                _batch_norm(incre_out[i + 1]),
                nn.ReLU(inplace=True),
            )
            for i in range(len(incre_out) - 1)
        )
        self.final_feat_layer = nn.Sequential(
            _conv1x1(incre_out[-1], layout.feature_dim, bias=True),
            _batch_norm(layout.feature_dim),
            nn.ReLU(inplace=True),
        )
        self.final_layer = _conv1x1(
            final_channels[0], NUM_HEATMAP_JOINTS * layout.heatmap_depth, bias=True
        )
        self._init_weights()

    def _init_weights(self) -> None:
        """The released training path starts from scratch with tiny conv weights (docs/model.md, The network)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, std=0.001)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for transition, stage in (
            (self.transition1, self.stage2),
            (self.transition2, self.stage3),
            (self.transition3, self.stage4),
        ):
            xs = stage(_apply_transition(transition, xs))

        heatmap = self.final_layer(xs[0])

        y = self.incre_modules[0](xs[0])
        for incre, down, branch in zip(self.incre_modules[1:], self.downsamp_modules, xs[1:]):
            y = incre(branch) + down(y)
        y = self.final_feat_layer(y)
        feature = torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)
        return heatmap, feature
