"""The style-prediction network (after Ghiasi et al. 2017): a painting -> the style input of a
transform net, in one pass, for paintings it never saw.

    painting [1, 3, h, w] in [0, 1], longer side PREDICTOR_SIDE (faststyle.painting resizes it)
      -> VGG-16 up to relu3_3 (frozen, ImageNet weights; the loss network's first 16 layers)
      -> each tapped layer's per-channel mean and standard deviation: [1, 2 x (64 + 128 + 256)] = [1, 896]
      -> standardised with the training paintings' statistics -> MLP -> style weights [1, R]

The weights are a TransformNet's style input: R rows of instance-norm scales and shifts, mixed
linearly (gamma = w @ weight, faststyle.model.transform_net.CondInstanceNorm). The first rows
are the --base model's own styles, so one-hot weights reproduce them exactly, a prediction mixes
with a bundled style the way two bundled styles blend, and the transform graph is the
multistyle model's, costing the same. Ghiasi et al.'s 100-number bottleneck is the R weights
themselves, unconstrained as theirs: the norm tables are the linear map from it to every scale
and shift. (A softmax over the rows, tried first, collapsed within 1,200 steps: each painting
put all its weight on one of five learned rows, and the loss stopped falling.)
"""

from __future__ import annotations

import torch
from torch import nn

from faststyle.model.transform_net import CondInstanceNorm, TransformNet
from faststyle.pixels import vgg_normalize

# torchvision's vgg16().features up to relu3_3: channels per conv, "M" a 2x2 max-pool; taps
# after the ReLUs at these indices (relu1_2, relu2_2, relu3_3)
TRUNK = (64, 64, "M", 128, 128, "M", 256, 256, 256)
TAPS = (3, 8, 15)
TRUNK_LAYERS = len(TRUNK) + sum(spec != "M" for spec in TRUNK)  # a ReLU after each conv: features[:16]
STATISTICS = 2 * (64 + 128 + 256)
HIDDEN = 512


def vgg_trunk() -> nn.Sequential:
    """An untrained VGG-16 features stack up to relu3_3, keys as torchvision's (0.weight ... 14.bias),
    so the loss network's weights load into it."""
    layers: list[nn.Module] = []
    cin = 3
    for spec in TRUNK:
        if spec == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, int(spec), 3, padding=1), nn.ReLU()]
            cin = int(spec)
    return nn.Sequential(*layers)


class StylePredictor(nn.Module):
    """Painting -> style weights over `rows` norm rows, of which the first `known` are a base's styles."""

    def __init__(self, rows: int, known: int):
        super().__init__()
        if not 0 < known <= rows:
            raise ValueError(f"{known} known styles for {rows} rows")
        self.rows, self.known = rows, known
        self.shift: torch.Tensor
        self.scale: torch.Tensor
        self.trunk = vgg_trunk().requires_grad_(False)
        # the training paintings' statistics: the MLP sees each feature at zero mean, unit spread
        self.register_buffer("shift", torch.zeros(STATISTICS))
        self.register_buffer("scale", torch.ones(STATISTICS))
        self.mlp = nn.Sequential(nn.Linear(STATISTICS, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, rows))
        # it starts at the mean of the known styles, whatever the painting: a safe, styled start
        head = self.mlp[2]
        assert isinstance(head, nn.Linear)
        with torch.no_grad():  # a zero head still learns: its gradient is the hidden layer's output
            head.weight.zero_()
            head.bias.zero_()
            head.bias[:known] = 1 / known

    def train(self, mode: bool = True) -> StylePredictor:
        super().train(mode)
        self.trunk.eval()  # frozen, and no layer of it behaves differently in training anyway
        return self

    def statistics(self, painting: torch.Tensor) -> torch.Tensor:
        """[N, 3, h, w] in [0, 1] (already at PREDICTOR_SIDE) -> [N, STATISTICS]: per tapped layer, the
        channel means then the channel standard deviations."""
        x, parts = vgg_normalize(painting), []
        for i, layer in enumerate(self.trunk):
            x = layer(x)
            if i in TAPS:
                f = x.float().flatten(2)  # [N, C, hw]
                parts += [f.mean(-1), (f.var(-1, unbiased=False) + 1e-5).sqrt()]
        return torch.cat(parts, dim=1)

    def from_statistics(self, stats: torch.Tensor) -> torch.Tensor:
        """[N, STATISTICS] -> style weights [N, rows] (any real numbers)."""
        weights: torch.Tensor = self.mlp((stats - self.shift) / self.scale)
        return weights.float()

    def forward(self, painting: torch.Tensor) -> torch.Tensor:
        """[N, 3, h, w] in [0, 1], as faststyle.painting.predictor_pixels sizes it -> style weights [N, rows]."""
        return self.from_statistics(self.statistics(painting))

    @torch.no_grad()
    def fit_known(self, stats: torch.Tensor, rows: torch.Tensor) -> None:
        """Correct the head with the smallest change (minimum-norm least squares) so that the
        paintings of statistics `stats` [K, STATISTICS] are predicted exactly as their own rows
        `rows` [K] (one-hot weights): the base's own paintings then paint as the base does. Found
        on the shipped model: this also moved two of three unseen paintings closer to their
        5-minute fine-tunes (docs/predictor.md)."""
        hidden = self.mlp[1](self.mlp[0]((stats - self.shift) / self.scale)).double()  # [K, HIDDEN]
        head = self.mlp[2]
        assert isinstance(head, nn.Linear)
        target = torch.nn.functional.one_hot(rows, self.rows).double()  # [K, R]
        missing = target - (hidden @ head.weight.double().T + head.bias.double())
        with_bias = torch.cat([hidden, hidden.new_ones(len(hidden), 1)], dim=1)  # [K, HIDDEN + 1]
        delta = torch.linalg.pinv(with_bias) @ missing  # [HIDDEN + 1, R]
        head.weight.add_(delta[:-1].T.to(head.weight.dtype))
        head.bias.add_(delta[-1].to(head.bias.dtype))

    @torch.no_grad()
    def set_standardisation(self, stats: torch.Tensor) -> None:
        """The training paintings' statistics [T, STATISTICS] -> the shift and scale the MLP's input gets."""
        self.shift.copy_(stats.mean(0))
        self.scale.copy_(stats.std(0).clamp_min(1e-6))


def bake(net: TransformNet, weights: torch.Tensor) -> TransformNet:
    """A copy of TransformNet `net` holding one style: its rows mixed by `weights` [R] (a predicted
    style, or a blend of it with the net's own styles) as the only row. Any tool that takes a
    single-style model (evaluate, export, stylize) then runs the painting's style unchanged."""
    assert not net.adapted_styles
    one = TransformNet(net.arch, num_residual=len(net.residuals), num_styles=1)
    state = net.state_dict()
    rows = {f"{n}.{p}" for n, m in net.named_modules() if isinstance(m, CondInstanceNorm) for p in ("weight", "bias")}
    w = weights.to(torch.float32).reshape(1, -1)
    one.load_state_dict({k: w @ v.float() if k in rows else v for k, v in state.items()})
    return one
