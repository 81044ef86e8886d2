"""
Generator networks of the published methods, in torch.

`UNetGenerator` is the pix2pix U-Net of AISFM v1 (Kim et al. 2019, after Isola et al. 2017):
stride-2 convolutions down to a small bottleneck, transposed convolutions back up with
skip connections, dropout in the first decoder blocks and a tanh output.
"""

try:
    import torch
    from torch import nn
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sunpy_dlmag.training needs torch, which is not installed. "
        "Install the training extra: pip install 'sunpy-dlmag[train]'."
    ) from err

__all__ = ["UNetGenerator"]

_NORMS = ("batch", "none")


def _norm_layer(norm, channels):
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


class UNetGenerator(nn.Module):
    """
    The pix2pix U-Net generator.

    ``depth`` encoder blocks each halve the image with a 4x4 convolution of stride 2
    (LeakyReLU 0.2 before every one but the first, normalisation after every one but the
    outermost and the innermost); ``depth`` decoder blocks double it again with 4x4
    transposed convolutions of stride 2 (ReLU before, normalisation after, dropout in
    the first ``dropout_blocks`` of them counted from the bottleneck), each taking the
    previous decoder output concatenated with the encoder output of the same size. The
    last decoder block ends in tanh, so outputs lie in ``[-1, 1]``.

    With the defaults (``depth=8``, ``base_filters=64``, ``max_filters=512``,
    ``dropout_blocks=3``) this is the generator of pix2pix and of AISFM v1, which brings
    a 256x256 image down to 1x1; the network is fully convolutional and runs on any
    size that is a multiple of `stride`.

    Parameters
    ----------
    in_channels : int
        Input channels.
    out_channels : int
        Output channels.
    base_filters : int
        Filters of the outermost encoder block; each deeper block doubles them, up to
        ``max_filters``.
    depth : int
        Number of stride-2 down-sampling blocks (and of up-sampling blocks), at least 1.
    max_filters : int
        Largest number of filters of any block.
    dropout_blocks : int
        How many decoder blocks, counted from the bottleneck, apply dropout (the paper's
        noise source; it stays on only in training mode). The outermost block never does.
    dropout : float
        Dropout probability.
    norm : {"batch", "none"}
        Normalisation layer: batch normalisation as in pix2pix, or none.

    Notes
    -----
    The innermost encoder block has no normalisation, as in the authors' code: its output
    is 1x1 at the training size, where batch normalisation of a batch of one is undefined.
    Convolutions followed by batch normalisation have no bias (the normalisation removes
    it). With batch normalisation the network is not tile-safe: in training mode it
    normalises over the batch, and its receptive field spans ``~2**(depth+1)`` pixels.

    References
    ----------
    * Isola, Zhu, Zhou & Efros 2017, "Image-to-image translation with conditional
      adversarial networks", CVPR.
    * Kim, Park, Lee et al. 2019, Nature Astronomy 3, 397.

    Examples
    --------
    >>> import torch
    >>> from sunpy_dlmag.training.networks import UNetGenerator
    >>> net = UNetGenerator(depth=3, base_filters=4).eval()
    >>> net.stride, net.receptive_radius
    (8, 21)
    >>> net(torch.zeros(2, 1, 16, 24)).shape
    torch.Size([2, 1, 16, 24])
    """

    def __init__(
        self,
        in_channels=1,
        out_channels=1,
        base_filters=64,
        depth=8,
        max_filters=512,
        dropout_blocks=3,
        dropout=0.5,
        norm="batch",
    ):
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(f"norm must be one of {_NORMS}, got {norm!r}.")
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}.")
        if min(in_channels, out_channels, base_filters, max_filters) < 1:
            raise ValueError(
                "in_channels, out_channels, base_filters and max_filters must be positive; got "
                f"{in_channels}, {out_channels}, {base_filters}, {max_filters}."
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.depth = depth
        self.norm = norm
        filters = [min(base_filters * 2**level, max_filters) for level in range(depth)]
        self.filters = tuple(filters)

        self.down = nn.ModuleList()
        previous = in_channels
        for level, width in enumerate(filters):
            outermost, innermost = level == 0, level == depth - 1
            normed = norm != "none" and not outermost and not innermost
            layers = [] if outermost else [nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(previous, width, 4, stride=2, padding=1, bias=not normed))
            if normed:
                layers.append(_norm_layer(norm, width))
            self.down.append(nn.Sequential(*layers))
            previous = width

        # Decoder blocks from the bottleneck outwards; block k undoes encoder level depth-1-k.
        self.up = nn.ModuleList()
        for k, level in enumerate(reversed(range(depth))):
            innermost, outermost = k == 0, level == 0
            in_width = filters[level] if innermost else 2 * filters[level]
            if outermost:
                layers = [nn.ReLU(), nn.ConvTranspose2d(in_width, out_channels, 4, stride=2, padding=1), nn.Tanh()]
            else:
                out_width = filters[level - 1]
                normed = norm != "none"
                layers = [
                    nn.ReLU(),
                    nn.ConvTranspose2d(in_width, out_width, 4, stride=2, padding=1, bias=not normed),
                ]
                if normed:
                    layers.append(_norm_layer(norm, out_width))
                if k < dropout_blocks and dropout > 0:
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))

    @property
    def stride(self):
        """The total down-sampling, ``2**depth``: image sizes must be multiples of it."""
        return 2**self.depth

    @property
    def receptive_radius(self):
        """
        How far, in input pixels, one output pixel sees: ``3 * (2**depth - 1)``.

        The largest distance over all output positions (the encoder and the decoder
        each contribute half of it), e.g. 765 px for ``depth=8``.
        """
        return 3 * (2**self.depth - 1)

    def forward(self, x):
        """
        Translate a batch of images.

        Parameters
        ----------
        x : `torch.Tensor`
            ``(N, in_channels, H, W)`` with ``H`` and ``W`` multiples of `stride`.

        Returns
        -------
        `torch.Tensor`
            ``(N, out_channels, H, W)`` in ``[-1, 1]``.
        """
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = self.up[0](skips.pop())
        for block in self.up[1:]:
            x = block(torch.cat([x, skips.pop()], dim=1))
        return x
