"""
Generator networks of the published methods, in torch.

- `UNetGenerator`: the pix2pix U-Net of AISFM v1 (Kim et al. 2019, after Isola et al. 2017):
  stride-2 convolutions down to a small bottleneck, transposed convolutions back up with
  skip connections, dropout in the first decoder blocks and a tanh output.
- `GlobalGenerator`: the Pix2PixHD global generator (Wang et al. 2018) of AISFM v2 and v3,
  Pix2PixCC and the sunspot-drawing network (Jeong et al. 2020, 2022; Lee et al. 2021).
- `DenoiseGenerator`: the generator of the HMI denoising networks (Park et al. 2020):
  stride-2 encoder, residual blocks, decoder with skip connections.

The discriminators are in `sunpy_dlmag.training.discriminators`.
"""

from sunpy_dlmag.exceptions import InvalidArgumentError
from sunpy_dlmag.training._torch import torch

__all__ = ["DenoiseGenerator", "GlobalGenerator", "UNetGenerator"]

nn = torch.nn

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
            raise InvalidArgumentError(f"norm must be one of {_NORMS}, got {norm!r}.")
        if depth < 1:
            raise InvalidArgumentError(f"depth must be at least 1, got {depth}.")
        if min(in_channels, out_channels, base_filters, max_filters) < 1:
            raise InvalidArgumentError(
                "in_channels, out_channels, base_filters and max_filters must be positive; got "
                f"{in_channels}, {out_channels}, {base_filters}, {max_filters}."
            )
        if not 0.0 <= dropout < 1.0:
            raise InvalidArgumentError(f"dropout must be in [0, 1), got {dropout}.")
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


# The networks below share these helpers; `UNetGenerator` keeps its own (batch or none).
NORMS_ALL = ("instance", "batch", "none")
_PADDINGS = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d, "zero": nn.ZeroPad2d}
_OUTPUT_ACTIVATIONS = ("none", "tanh")


def norm2d(norm, channels):
    """The normalisation layer called ``norm`` for ``channels`` feature maps."""
    if norm == "instance":
        # Pix2PixHD's choice: statistics of each image, no learnt scale and offset.
        return nn.InstanceNorm2d(channels, affine=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


def check_network_choice(name, value, choices):
    if value not in choices:
        raise InvalidArgumentError(f"{name} must be one of {choices}, got {value!r}.")


def check_counts(minimum, **counts):
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InvalidArgumentError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def _conv_inputs(lo, hi, kernel, stride=1, padding=None):
    """The input indices that outputs ``lo..hi`` of a convolution see (padding counted as indices)."""
    padding = kernel // 2 if padding is None else padding
    return stride * lo - padding, stride * hi - padding + kernel - 1


def _transposed_inputs(lo, hi, kernel, stride, padding):
    """The input indices that outputs ``lo..hi`` of a transposed convolution see."""
    # Output o receives input i through tap k when o = stride * i - padding + k, 0 <= k < kernel.
    return -((kernel - 1 - padding - lo) // stride), (hi + padding) // stride


def _radius(support, period):
    """
    Largest distance from an output pixel to the ends of the input span ``support(x)`` it sees.

    The networks are periodic in ``x`` with their stride, so ``period`` outputs cover all cases.
    """
    return max(max(x - lo, hi - x) for x in range(period) for lo, hi in [support(x)])


class _ResidualBlock(nn.Module):
    """Pix2PixHD/ResNet block: ``x + norm(conv(relu(norm(conv(x)))))``, 3x3 convolutions."""

    def __init__(self, channels, norm, padding):
        super().__init__()
        pad = _PADDINGS[padding]
        bias = norm == "none"
        self.body = nn.Sequential(
            pad(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm2d(norm, channels),
            nn.ReLU(),
            pad(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm2d(norm, channels),
        )

    def forward(self, x):
        return x + self.body(x)


class GlobalGenerator(nn.Module):
    """
    The Pix2PixHD global generator.

    A 7x7 convolution to ``base_filters`` maps (normalisation, ReLU); ``n_down`` 3x3
    convolutions of stride 2, each doubling the filters; ``n_res`` residual blocks (two 3x3
    convolutions with normalisation, ReLU between them, added to the block's input);
    ``n_down`` 3x3 transposed convolutions of stride 2 (``output_padding=1``), each halving
    the filters; a 7x7 convolution to ``out_channels`` and tanh, so outputs lie in ``[-1, 1]``.
    The 7x7 convolutions and the residual blocks pad with ``padding``, the stride-2
    convolutions with zeros, as in the authors' code.

    With the defaults (``base_filters=32``, ``n_down=4``, ``n_res=9``, instance norm,
    reflection padding) this is the generator of AISFM v2 and v3, of Pix2PixCC and of the
    sunspot-drawing network; the network is fully convolutional and runs on any size that
    is a multiple of `stride`.

    Parameters
    ----------
    in_channels : int
        Input channels.
    out_channels : int
        Output channels.
    base_filters : int
        Filters of the first convolution; the bottleneck has ``base_filters * 2**n_down``.
    n_down : int
        Number of stride-2 down-sampling convolutions (and of up-sampling ones), at least 1.
    n_res : int
        Number of residual blocks at the bottleneck, at least 0.
    norm : {"instance", "batch", "none"}
        Normalisation after every convolution but the last: instance normalisation without
        affine parameters as published, batch normalisation, or none.
    padding : {"reflect", "replicate", "zero"}
        Padding of the 7x7 convolutions and of the residual blocks.

    Notes
    -----
    Instance normalisation uses the statistics of the whole image, so with ``norm="instance"``
    every output pixel depends on every input pixel and the network must run on whole images
    (it is not tile-safe), however small `receptive_radius` is. With batch normalisation in
    evaluation mode (fixed statistics), or none, an output pixel depends only on input pixels
    within `receptive_radius`. Convolutions followed by normalisation have no bias (the
    normalisation removes it).

    References
    ----------
    * Wang, Liu, Zhu et al. 2018, "High-resolution image synthesis and semantic manipulation
      with conditional GANs", CVPR.
    * Jeong, Moon, Park et al. 2020, ApJL 903, L25 (AISFM v2); Jeong et al. 2022, ApJS 262, 50
      (Pix2PixCC, AISFM v3).
    * Lee, Park, Moon et al. 2021, ApJ 907, 118 (sunspot drawings).

    Examples
    --------
    >>> import torch
    >>> from sunpy_dlmag.training.networks import GlobalGenerator
    >>> net = GlobalGenerator(in_channels=3, base_filters=4, n_down=2, n_res=1).eval()
    >>> net.stride, net.receptive_radius
    (4, 20)
    >>> net(torch.zeros(1, 3, 16, 24)).shape
    torch.Size([1, 1, 16, 24])
    """

    def __init__(
        self,
        in_channels=3,
        out_channels=1,
        base_filters=32,
        n_down=4,
        n_res=9,
        norm="instance",
        padding="reflect",
    ):
        super().__init__()
        check_network_choice("norm", norm, NORMS_ALL)
        check_network_choice("padding", padding, tuple(_PADDINGS))
        check_counts(1, in_channels=in_channels, out_channels=out_channels, base_filters=base_filters, n_down=n_down)
        check_counts(0, n_res=n_res)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.n_down = n_down
        self.n_res = n_res
        self.norm = norm
        self.padding = padding
        pad = _PADDINGS[padding]
        bias = norm == "none"

        width = base_filters
        encoder = [pad(3), nn.Conv2d(in_channels, width, 7, bias=bias), norm2d(norm, width), nn.ReLU()]
        for _ in range(n_down):
            encoder += [
                nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=bias),
                norm2d(norm, 2 * width),
                nn.ReLU(),
            ]
            width *= 2
        self.encoder = nn.Sequential(*encoder)
        self.residual = nn.Sequential(*(_ResidualBlock(width, norm, padding) for _ in range(n_res)))
        decoder = []
        for _ in range(n_down):
            decoder += [
                nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                norm2d(norm, width // 2),
                nn.ReLU(),
            ]
            width //= 2
        decoder += [pad(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]
        self.decoder = nn.Sequential(*decoder)

    @property
    def stride(self):
        """The total down-sampling, ``2**n_down``: image sizes must be multiples of it."""
        return 2**self.n_down

    def _support(self, x):
        # From output pixel x back through the layers to the span of input pixels it sees.
        lo, hi = _conv_inputs(x, x, 7)
        for _ in range(self.n_down):
            lo, hi = _transposed_inputs(lo, hi, 3, stride=2, padding=1)
        lo, hi = lo - 2 * self.n_res, hi + 2 * self.n_res
        for _ in range(self.n_down):
            lo, hi = _conv_inputs(lo, hi, 3, stride=2, padding=1)
        return _conv_inputs(lo, hi, 7)

    @property
    def receptive_radius(self):
        """
        How far, in input pixels, one output pixel sees through the convolutions.

        Computed by following the span of input pixels back through every layer; the
        largest distance over all output positions (away from the image edges, where
        padding folds pixels back in), which is ``2**(n_down + 1) * (n_res + 1) + 4``:
        324 px with the defaults (``n_down=4``, ``n_res=9``). With ``norm="instance"`` the
        image-wide statistics reach further still: see Notes.
        """
        return _radius(self._support, self.stride)

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
        return self.decoder(self.residual(self.encoder(x)))


class DenoiseGenerator(nn.Module):
    """
    The generator of the HMI denoising networks of Park et al. (2020).

    ``n_down`` encoder blocks each halve the image with a 4x4 convolution of stride 2
    (LeakyReLU 0.2 before every one but the first, normalisation after every one but the
    first); ``n_res`` residual blocks (two 3x3 convolutions with normalisation, ReLU between
    them) work at the bottleneck; ``n_down`` decoder blocks double the image again with 4x4
    transposed convolutions of stride 2, each taking the previous output concatenated with
    the encoder output of the same size (ReLU before, normalisation after every one but the
    last). The last decoder block gives the output, optionally through tanh.

    With the defaults (``base_filters=64``, ``n_down=4``, ``n_res=9``, batch norm) this is
    the generator of both denoising networks, M1 (image translation with a PatchGAN) and M2
    (autoencoder), following the authors' code. It is fully convolutional and runs on any
    size that is a multiple of `stride`.

    Parameters
    ----------
    in_channels : int
        Input channels.
    out_channels : int
        Output channels.
    base_filters : int
        Filters of the first encoder block; each deeper block doubles them, up to
        ``max_filters``.
    n_down : int
        Number of stride-2 down-sampling blocks (and of up-sampling ones), at least 1.
    n_res : int
        Number of residual blocks at the bottleneck, at least 0.
    max_filters : int
        Largest number of filters of any block.
    norm : {"batch", "instance", "none"}
        Normalisation layer: batch normalisation as published, instance normalisation, or none.
    output_activation : {"none", "tanh"}
        ``"none"`` (the default, as in the authors' code) leaves the output linear;
        ``"tanh"`` squashes it into ``[-1, 1]``.
    residual : bool
        Add the input to the output, so the network learns the correction (the noise to
        remove) rather than the whole field. Strong fields then pass through unchanged
        unless the network acts on them; not in the published network.
    full_res_filters : int
        Width of an optional stage at full resolution (0, the default, leaves it out, as
        published): a 3x3 convolution before the encoder and a 3x3 convolution after the
        decoder that also takes the first one's output as a skip connection. Without it
        the finest features are computed at half resolution, which blurs pixel-scale
        structure of strong fields; not in the published network.

    Notes
    -----
    The output is linear by default because magnetograms are normalised as ``B / 100 G``:
    M1 clips its targets to ``[-1, 1]``, but M2, the autoencoder, must reproduce strong
    fields beyond +-100 G, which a tanh output cannot reach (and which saturate it, stalling
    training). Choose ``"tanh"`` only with targets clipped to ``[-1, 1]``.

    The convolutions pad with zeros, and nothing normalises over the whole image: with
    batch normalisation in evaluation mode (fixed statistics), or none, an output pixel
    depends only on input pixels within `receptive_radius`, so large images can run in
    overlapping tiles aligned to `stride`. Instance normalisation, or batch normalisation
    in training mode, breaks this.

    References
    ----------
    * Park, Moon, Lim & Lee 2020, "De-noising SDO/HMI solar magnetograms by image translation
      method based on deep learning", ApJL 891, L4.

    Examples
    --------
    >>> import torch
    >>> from sunpy_dlmag.training.networks import DenoiseGenerator
    >>> net = DenoiseGenerator(base_filters=4, n_down=2, n_res=1).eval()
    >>> net.stride, net.receptive_radius
    (4, 17)
    >>> net(torch.zeros(1, 1, 16, 24)).shape
    torch.Size([1, 1, 16, 24])
    """

    def __init__(
        self,
        in_channels=1,
        out_channels=1,
        base_filters=64,
        n_down=4,
        n_res=9,
        max_filters=512,
        norm="batch",
        output_activation="none",
        residual=False,
        full_res_filters=0,
    ):
        super().__init__()
        if residual and in_channels != out_channels:
            raise InvalidArgumentError(
                f"residual=True adds the input to the output, so in_channels ({in_channels}) must equal "
                f"out_channels ({out_channels})."
            )
        if residual and output_activation != "none":
            raise InvalidArgumentError("residual=True needs output_activation='none': the sum is not bounded.")
        self.residual_output = bool(residual)
        check_network_choice("norm", norm, NORMS_ALL)
        check_network_choice("output_activation", output_activation, _OUTPUT_ACTIVATIONS)
        check_counts(
            1,
            in_channels=in_channels,
            out_channels=out_channels,
            base_filters=base_filters,
            max_filters=max_filters,
            n_down=n_down,
        )
        check_counts(0, n_res=n_res, full_res_filters=full_res_filters)
        self.in_channels = in_channels
        self.full_res_filters = full_res_filters
        self.out_channels = out_channels
        self.n_down = n_down
        self.n_res = n_res
        self.norm = norm
        self.output_activation = output_activation
        filters = [min(base_filters * 2**level, max_filters) for level in range(n_down)]
        self.filters = tuple(filters)
        bias = norm == "none"

        self.head = None
        previous = in_channels
        if full_res_filters:
            self.head = nn.Sequential(nn.Conv2d(in_channels, full_res_filters, 3, padding=1), nn.LeakyReLU(0.2))
            previous = full_res_filters
        self.down = nn.ModuleList()
        for level, width in enumerate(filters):
            if level == 0:
                layers = [nn.Conv2d(previous, width, 4, stride=2, padding=1)]
            else:
                layers = [
                    nn.LeakyReLU(0.2),
                    nn.Conv2d(previous, width, 4, stride=2, padding=1, bias=bias),
                    norm2d(norm, width),
                ]
            self.down.append(nn.Sequential(*layers))
            previous = width

        self.residual = nn.Sequential(*(_ResidualBlock(filters[-1], norm, "zero") for _ in range(n_res)))

        # Decoder blocks from the bottleneck outwards; block k undoes encoder level n_down-1-k and
        # takes its output (the bottleneck's residual blocks' input for k = 0) as a skip connection.
        self.up = nn.ModuleList()
        for level in reversed(range(n_down)):
            in_width = 2 * filters[level]
            if level == 0:
                width = full_res_filters or out_channels
                layers = [nn.ReLU(), nn.ConvTranspose2d(in_width, width, 4, stride=2, padding=1)]
                if output_activation == "tanh" and not full_res_filters:
                    layers.append(nn.Tanh())
            else:
                out_width = filters[level - 1]
                layers = [
                    nn.ReLU(),
                    nn.ConvTranspose2d(in_width, out_width, 4, stride=2, padding=1, bias=bias),
                    norm2d(norm, out_width),
                ]
            self.up.append(nn.Sequential(*layers))
        self.tail = None
        if full_res_filters:
            tail = [nn.ReLU(), nn.Conv2d(2 * full_res_filters, out_channels, 3, padding=1)]
            if output_activation == "tanh":
                tail.append(nn.Tanh())
            self.tail = nn.Sequential(*tail)

    @property
    def stride(self):
        """The total down-sampling, ``2**n_down``: image sizes must be multiples of it."""
        return 2**self.n_down

    def _support(self, x):
        # The decoder path from output pixel x down to each encoder level, then back up that
        # encoder to the input; the span is the hull over all skip connections. The
        # full-resolution stage widens everything by one pixel at each end, and its own skip
        # sees two pixels either side.
        edge = 1 if self.full_res_filters else 0
        lo, hi = x - edge, x + edge
        span_lo, span_hi = lo - edge, hi + edge
        for level in range(1, self.n_down + 1):
            lo, hi = _transposed_inputs(lo, hi, 4, stride=2, padding=1)
            a, b = lo, hi
            if level == self.n_down:
                a, b = a - 2 * self.n_res, b + 2 * self.n_res
            for _ in range(level):
                a, b = _conv_inputs(a, b, 4, stride=2, padding=1)
            span_lo, span_hi = min(span_lo, a - edge), max(span_hi, b + edge)
        return span_lo, span_hi

    @property
    def receptive_radius(self):
        """
        How far, in input pixels, one output pixel sees.

        Computed by following the span of input pixels back through every layer and skip
        connection; the largest distance over all output positions (away from the image
        edges), which is ``2**n_down * (2 * n_res + 3) - 3``: 333 px with the defaults
        (``n_down=4``, ``n_res=9``). Tiles that overlap by more than this give the same
        result as the whole image (see Notes).
        """
        return _radius(self._support, self.stride)

    def forward(self, x):
        """
        Denoise a batch of images.

        Parameters
        ----------
        x : `torch.Tensor`
            ``(N, in_channels, H, W)`` with ``H`` and ``W`` multiples of `stride`.

        Returns
        -------
        `torch.Tensor`
            ``(N, out_channels, H, W)``, in ``[-1, 1]`` with ``output_activation="tanh"``.
        """
        skips = []
        inputs = x
        if self.head is not None:
            x = full_res = self.head(x)
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = self.residual(x)
        for block in self.up:
            x = block(torch.cat([x, skips.pop()], dim=1))
        if self.tail is not None:
            x = self.tail(torch.cat([x, full_res], dim=1))
        return inputs + x if self.residual_output else x
