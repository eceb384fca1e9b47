"""Image architectures (a small ConvNet and a small ResNet) and batch augmentation.

Both adapt their number of down-sampling stages to the image size, so the same net runs on 8×8
digits and 32×32 CIFAR images.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def n_stages_for(height: int, width: int, wanted: int) -> int:
    """Stages of 2× down-sampling that keep the feature map at least 2×2."""
    return max(1, min(wanted, int(math.log2(min(height, width))) - 1))


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class ConvNet(nn.Module):
    """Stages of two 3×3 conv-BN-ReLU layers and a max-pool; width doubles per stage."""

    def __init__(
        self, in_channels: int, n_outputs: int, n_stages: int, width: int, dropout: float
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for stage in range(n_stages):
            c_out = width * 2**stage
            layers += [*_conv_bn(c_in, c_out), *_conv_bn(c_out, c_out), nn.MaxPool2d(2)]
            c_in = c_out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c_in, n_outputs))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class BasicBlock(nn.Module):
    """He et al. 2016 basic block: two 3×3 convs with a (projected) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn(c_in, c_out, stride),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A CIFAR-style ResNet: 3×3 stem, stages of basic blocks, global pooling, linear head."""

    def __init__(
        self,
        in_channels: int,
        n_outputs: int,
        n_stages: int,
        width: int,
        dropout: float,
        blocks_per_stage: int = 2,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = _conv_bn(in_channels, width)
        c_in = width
        for stage in range(n_stages):
            c_out = width * 2**stage
            for block in range(blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(c_in, c_out, stride))
                c_in = c_out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c_in, n_outputs))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class Augment:
    """Random crop with zero padding for all images, plus a horizontal flip for colour ones.

    Works on a whole batch on its device (per-sample offsets by gather, no Python loop).
    """

    def __init__(self, padding: int, flip: bool) -> None:
        self.padding, self.flip = padding, flip

    def __call__(self, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        x = inputs[0]
        n, _, h, w = x.shape
        p = self.padding
        padded = nn.functional.pad(x, (p, p, p, p)).permute(0, 2, 3, 1)
        dy = torch.randint(0, 2 * p + 1, (n, 1), device=x.device)
        dx = torch.randint(0, 2 * p + 1, (n, 1), device=x.device)
        rows = (dy + torch.arange(h, device=x.device)).view(n, h, 1)
        cols = (dx + torch.arange(w, device=x.device)).view(n, 1, w)
        batch = torch.arange(n, device=x.device).view(n, 1, 1)
        out = padded[batch, rows, cols].permute(0, 3, 1, 2)
        if self.flip:
            flip = torch.rand(n, 1, 1, 1, device=x.device) < 0.5
            out = torch.where(flip, out.flip(3), out)
        return (out.contiguous(), *inputs[1:])
