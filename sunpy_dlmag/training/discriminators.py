"""
Discriminator networks of the published methods, in torch.

- `PatchDiscriminator`: the 70x70 PatchGAN of pix2pix.
- `MultiScaleDiscriminator`: PatchGANs at several image scales (Pix2PixHD).
"""

from sunpy_dlmag.training._torch import torch
from sunpy_dlmag.training.networks import NORMS_ALL, check_counts, check_network_choice, norm2d

__all__ = ["MultiScaleDiscriminator", "PatchDiscriminator"]

nn = torch.nn


class PatchDiscriminator(nn.Module):
    """
    The PatchGAN discriminator of pix2pix.

    ``n_layers`` 4x4 convolutions of stride 2 (the first without normalisation), then one
    4x4 convolution of stride 1, each followed by LeakyReLU 0.2 and each but the first by
    normalisation, then a 4x4 convolution of stride 1 to one channel: a map of logits
    (no sigmoid; `~sunpy_dlmag.training.losses.GANLoss` takes logits), one per image patch.
    Filters start at ``base_filters`` and double in each block, up to ``max_filters``.

    With ``n_layers=3`` each logit sees a 70x70 patch (`receptive_field`): the discriminator
    of pix2pix, AISFM v1 and the denoising network M1.

    Parameters
    ----------
    in_channels : int
        Input channels: for a conditional GAN, those of the generator's input and output
        stacked.
    base_filters : int
        Filters of the first convolution.
    n_layers : int
        Number of stride-2 convolutions, at least 1.
    max_filters : int
        Largest number of filters of any convolution.
    norm : {"batch", "instance", "none"}
        Normalisation layer: batch normalisation as in pix2pix, instance normalisation as in
        Pix2PixHD, or none.
    return_features : bool
        If `True`, `forward` returns the outputs of every block, the last being the logits,
        as feature matching needs
        (`~sunpy_dlmag.training.losses.feature_matching_loss`); otherwise only the logits.

    Notes
    -----
    The convolutions pad by 1, as in pix2pix (Pix2PixHD pads by 2, which gives slightly
    larger logit maps of the same receptive field). The logit map of an ``H x W`` input is
    ``(H / 2**n_layers - 2) x (W / 2**n_layers - 2)``, so inputs need at least
    ``3 * 2**n_layers`` pixels a side.

    References
    ----------
    * Isola, Zhu, Zhou & Efros 2017, "Image-to-image translation with conditional
      adversarial networks", CVPR.

    Examples
    --------
    >>> import torch
    >>> from sunpy_dlmag.training.discriminators import PatchDiscriminator
    >>> net = PatchDiscriminator(in_channels=2, base_filters=4)
    >>> net.receptive_field
    70
    >>> net(torch.zeros(1, 2, 64, 64)).shape
    torch.Size([1, 1, 6, 6])
    >>> [f.shape[1] for f in PatchDiscriminator(2, base_filters=4, return_features=True)(torch.zeros(1, 2, 64, 64))]
    [4, 8, 16, 32, 1]
    """

    def __init__(self, in_channels, base_filters=64, n_layers=3, max_filters=512, norm="batch", return_features=False):
        super().__init__()
        check_network_choice("norm", norm, NORMS_ALL)
        check_counts(1, in_channels=in_channels, base_filters=base_filters, n_layers=n_layers, max_filters=max_filters)
        self.in_channels = in_channels
        self.n_layers = n_layers
        self.norm = norm
        self.return_features = bool(return_features)
        widths = [min(base_filters * 2**k, max_filters) for k in range(n_layers + 1)]
        blocks = [nn.Sequential(nn.Conv2d(in_channels, widths[0], 4, stride=2, padding=1), nn.LeakyReLU(0.2))]
        for k in range(1, n_layers + 1):
            stride = 2 if k < n_layers else 1
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(widths[k - 1], widths[k], 4, stride=stride, padding=1, bias=norm == "none"),
                    norm2d(norm, widths[k]),
                    nn.LeakyReLU(0.2),
                )
            )
        blocks.append(nn.Conv2d(widths[-1], 1, 4, stride=1, padding=1))
        self.blocks = nn.ModuleList(blocks)

    @property
    def receptive_field(self):
        """The side, in input pixels, of the patch each logit sees: 70 for ``n_layers=3``."""
        size = 4 + 3  # the two stride-1 convolutions
        for _ in range(self.n_layers):
            size = 2 * size + 2
        return size

    def forward(self, x):
        """
        Score a batch of images patch by patch.

        Parameters
        ----------
        x : `torch.Tensor`
            ``(N, in_channels, H, W)``.

        Returns
        -------
        `torch.Tensor` or list of `torch.Tensor`
            The ``(N, 1, h, w)`` logits, or with ``return_features=True`` the outputs of
            all ``n_layers + 2`` blocks, the logits last.
        """
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features if self.return_features else x


class MultiScaleDiscriminator(nn.Module):
    """
    PatchGAN discriminators at several image scales, as in Pix2PixHD.

    ``n_scales`` independent PatchGANs (`PatchDiscriminator`, ``return_features=True``); the first
    sees the input, each further one the previous scale's input smoothed and halved by 3x3
    average pooling of stride 2 (padding 1, padded pixels left out of the average).

    With the defaults (``n_scales=2`` as published for AISFM v2 and v3, Pix2PixCC and the
    drawing network; ``n_layers=3``; instance norm) the coarser discriminator sees patches of
    about 140x140 pixels of the input.

    Parameters
    ----------
    in_channels : int
        Input channels: for a conditional GAN, those of the generator's input and output
        stacked.
    n_scales : int
        Number of scales (discriminators), at least 1.
    base_filters, n_layers, max_filters, norm
        Arguments of each `PatchDiscriminator`.

    Examples
    --------
    >>> import torch
    >>> from sunpy_dlmag.training.discriminators import MultiScaleDiscriminator
    >>> net = MultiScaleDiscriminator(in_channels=4, base_filters=4)
    >>> output = net(torch.zeros(1, 4, 64, 64))
    >>> [[f.shape[-1] for f in scale] for scale in output]
    [[32, 16, 8, 7, 6], [16, 8, 4, 3, 2]]
    """

    def __init__(self, in_channels, n_scales=2, base_filters=64, n_layers=3, max_filters=512, norm="instance"):
        super().__init__()
        check_counts(1, n_scales=n_scales)
        self.in_channels = in_channels
        self.n_scales = n_scales
        self.scales = nn.ModuleList(
            PatchDiscriminator(
                in_channels,
                base_filters=base_filters,
                n_layers=n_layers,
                max_filters=max_filters,
                norm=norm,
                return_features=True,
            )
            for _ in range(n_scales)
        )
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x):
        """
        Score a batch of images at every scale.

        Parameters
        ----------
        x : `torch.Tensor`
            ``(N, in_channels, H, W)``; as the coarsest scale sees the input halved
            ``n_scales - 1`` times, ``H`` and ``W`` must be at least
            ``3 * 2**(n_layers + n_scales - 1)``.

        Returns
        -------
        list of list of `torch.Tensor`
            One entry per scale, finest first: the outputs of that scale's discriminator
            blocks, the logits last (the format of `~sunpy_dlmag.training.losses.GANLoss`
            and `~sunpy_dlmag.training.losses.feature_matching_loss`).
        """
        outputs = []
        for scale, discriminator in enumerate(self.scales):
            if scale:
                x = self.downsample(x)
            outputs.append(discriminator(x))
        return outputs
