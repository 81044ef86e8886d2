"""Generators, discriminators and losses of the training toolkit, on tiny networks."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

from sunpy_dlmag import training  # noqa: E402
from sunpy_dlmag.models import get_model  # noqa: E402
from sunpy_dlmag.training import discriminators, losses, networks  # noqa: E402
from sunpy_dlmag.training.discriminators import MultiScaleDiscriminator, PatchDiscriminator  # noqa: E402
from sunpy_dlmag.training.networks import DenoiseGenerator, GlobalGenerator, UNetGenerator  # noqa: E402
from sunpy_dlmag.training.presets import get_preset, list_presets  # noqa: E402

SIZE = 64  # a multiple of every small generator's stride (16), large enough for two PatchGAN scales


def _small_generator(preset):
    """The preset's generator with few filters and few blocks; its structure otherwise unchanged."""
    if preset.generator == "unet":
        # The published depth-10 U-Net needs 1024 px images; depth 4 has the same structure.
        return preset.build_generator(base_filters=4, depth=4)
    return preset.build_generator(base_filters=4, n_res=1)


@pytest.mark.parametrize("name", list_presets())
def test_preset_networks_run_and_feed_the_losses(name):
    preset = get_preset(name)
    n_inputs = get_model(preset.model).n_inputs
    torch.manual_seed(0)
    generator = _small_generator(preset)
    assert generator.in_channels == n_inputs
    assert generator.out_channels == 1
    if preset.generator != "unet":
        assert generator.stride == preset.stride
        assert (generator.norm != "instance") == preset.tile_safe

    x = 3 * torch.randn(2, n_inputs, SIZE, SIZE)  # large values, to drive a tanh output into saturation
    real = torch.rand(2, 1, SIZE, SIZE) * 2 - 1
    fake = generator(x)
    assert fake.shape == (2, 1, SIZE, SIZE)
    assert torch.isfinite(fake).all()
    squashed = isinstance(generator, UNetGenerator | GlobalGenerator) or generator.output_activation == "tanh"
    if squashed:
        assert fake.abs().max() <= 1
    assert isinstance(generator, DenoiseGenerator) != squashed  # the denoising outputs stay linear

    discriminator = preset.build_discriminator(base_filters=4)
    if discriminator is None:
        assert preset.discriminator is None
        assert "gan" not in preset.loss_weights
        loss = preset.loss_weights["mse"] * F.mse_loss(fake, real)
    else:
        assert discriminator.in_channels == n_inputs + 1
        fake_output = discriminator(torch.cat([x, fake], dim=1))
        real_output = discriminator(torch.cat([x, real], dim=1))
        if preset.discriminator == "multiscale":
            assert isinstance(fake_output, list)
            assert len(fake_output) == discriminator.n_scales
            for scale, features in enumerate(fake_output):
                assert len(features) == discriminator.scales[scale].n_layers + 2
                assert features[-1].shape[:2] == (2, 1)
        else:
            assert isinstance(fake_output, torch.Tensor)
            assert fake_output.shape == (2, 1, SIZE // 8 - 2, SIZE // 8 - 2)
        gan = losses.GANLoss(preset.gan_mode)
        loss = preset.loss_weights["gan"] * gan(fake_output, True)
        assert torch.isfinite(gan(real_output, True) + gan(fake_output, False))
        if "fm" in preset.loss_weights:
            fm = losses.feature_matching_loss(fake_output, real_output)
            assert fm > 0
            loss = loss + preset.loss_weights["fm"] * fm
        if "l1" in preset.loss_weights:
            loss = loss + preset.loss_weights["l1"] * F.l1_loss(fake, real)
    if "cc" in preset.loss_weights:
        loss = loss + preset.loss_weights["cc"] * losses.correlation_loss(
            fake, real, scales=preset.cc_scales, kind=preset.cc_kind
        )
    assert loss.ndim == 0
    assert torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in generator.parameters())


def test_published_sizes():
    # Built at published size (not run): the settings of the papers reach the classes.
    generator = get_preset("aisfm-v2").build_generator()
    assert (generator.stride, generator.receptive_radius) == (16, 324)
    assert generator.encoder[1].out_channels == 32
    assert len(generator.residual) == 9
    assert generator.residual[0].body[1].in_channels == 32 * 16
    assert isinstance(generator.encoder[2], torch.nn.InstanceNorm2d)
    assert not generator.encoder[2].affine
    assert isinstance(generator.encoder[0], torch.nn.ReflectionPad2d)
    denoise = DenoiseGenerator()
    assert (denoise.stride, denoise.receptive_radius) == (16, 333)
    assert denoise.filters == (64, 128, 256, 512)
    assert PatchDiscriminator(2).receptive_field == 70


def test_lazy_names():
    for module, names in (
        (networks, ("GlobalGenerator", "DenoiseGenerator")),
        (discriminators, ("PatchDiscriminator", "MultiScaleDiscriminator")),
    ):
        for name in names:
            assert name in training.__all__
            assert name in module.__all__
            assert getattr(training, name) is getattr(module, name)


def _lively(net):
    """He-initialised weights and zero biases: without normalisation, PyTorch's default initialisation
    shrinks the signal layer by layer until biases dominate and ReLUs switch whole paths off."""
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
    return net


def _gradient_extent(net, size, pixels):
    """For each output pixel, the largest row and column distance of an input pixel with non-zero gradient."""
    # Several independent inputs, so that a path switched off by ReLU for one is open for another.
    x = torch.randn(4, net.in_channels, size, size, dtype=torch.float64, requires_grad=True)
    out = net(x)
    extents = []
    for row, col in pixels:
        (grad,) = torch.autograd.grad(out[:, :, row, col].sum(), x, retain_graph=True)
        rows, cols = np.nonzero(grad.abs().sum(dim=(0, 1)).numpy())
        extents.append(max(np.abs(rows - row).max(), np.abs(cols - col).max()))
    return extents


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (GlobalGenerator, {"in_channels": 2, "n_down": 2, "n_res": 1}),
        (GlobalGenerator, {"in_channels": 1, "n_down": 1, "n_res": 2, "padding": "zero"}),
        (DenoiseGenerator, {"in_channels": 2, "n_down": 2, "n_res": 1}),
        (DenoiseGenerator, {"in_channels": 1, "n_down": 3, "n_res": 0}),
        (DenoiseGenerator, {"in_channels": 1, "n_down": 2, "n_res": 1, "full_res_filters": 3}),
        (DenoiseGenerator, {"in_channels": 2, "n_down": 1, "n_res": 0, "full_res_filters": 2}),
    ],
)
def test_receptive_radius_by_input_gradients(cls, kwargs):
    # Without normalisation an output pixel depends only on nearby input pixels; their
    # farthest distance, over all positions relative to the stride grid, is the radius.
    torch.manual_seed(1)
    net = _lively(cls(base_filters=4, norm="none", **kwargs)).double().eval()
    radius, stride = net.receptive_radius, net.stride
    size = stride * math.ceil((2 * radius + 4 * stride) / stride)  # the support stays off the edges
    centre = size // 2
    pixels = [(centre, centre + k) for k in range(stride)] + [(centre + k, centre) for k in range(stride)]
    extents = _gradient_extent(net, size, pixels)
    assert max(extents) == radius


def test_patch_discriminator_receptive_field_by_input_gradients():
    torch.manual_seed(2)
    net = PatchDiscriminator(2, base_filters=4, norm="none").double()
    x = torch.randn(1, 2, 128, 128, dtype=torch.float64, requires_grad=True)
    out = net(x)
    (grad,) = torch.autograd.grad(out[0, 0, 7, 7], x)
    rows, cols = np.nonzero(grad.abs().sum(dim=(0, 1)).numpy())
    assert rows.max() - rows.min() + 1 == net.receptive_field == 70
    assert cols.max() - cols.min() + 1 == 70


def _crop_matches_whole(net, *, size=96, top=16, left=20, crop=64):
    """Whether the crop's output equals the whole image's output away from the crop's edges."""
    x = torch.randn(1, net.in_channels, size, size)
    with torch.no_grad():
        whole = net(x)[..., top : top + crop, left : left + crop]
        part = net(x[..., top : top + crop, left : left + crop])
    margin = net.receptive_radius + 1
    assert crop - 2 * margin >= 16
    inner = (..., slice(margin, crop - margin), slice(margin, crop - margin))
    return torch.allclose(part[inner], whole[inner], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cls", [DenoiseGenerator, GlobalGenerator])
def test_tile_safety(cls):
    torch.manual_seed(3)
    # Crops start on the stride grid (16 and 20 are multiples of 4).
    net = cls(in_channels=1, base_filters=4, n_down=2, n_res=1, norm="batch")
    with torch.no_grad():  # non-trivial running statistics
        for _ in range(3):
            net(2 * torch.randn(4, 1, 32, 32) + 0.5)
    net.eval()
    assert _crop_matches_whole(net)
    # The optional full-resolution stage of the denoising generator keeps tiles exact too.
    if cls is DenoiseGenerator:
        torch.manual_seed(3)
        assert _crop_matches_whole(cls(in_channels=1, base_filters=4, n_down=2, n_res=1, full_res_filters=3).eval())
    # Instance normalisation takes the statistics of the whole input, so a crop differs.
    torch.manual_seed(3)
    assert not _crop_matches_whole(cls(in_channels=1, base_filters=4, n_down=2, n_res=1, norm="instance").eval())


def test_denoise_output_activation():
    torch.manual_seed(4)
    x = 50 * torch.randn(1, 1, 32, 32)
    linear = DenoiseGenerator(base_filters=4, n_down=2, n_res=1).eval()
    squashed = DenoiseGenerator(base_filters=4, n_down=2, n_res=1, output_activation="tanh").eval()
    squashed.load_state_dict(linear.state_dict())  # no parameters of its own
    with torch.no_grad():
        assert linear(x).abs().max() > 1
        assert torch.allclose(squashed(x), torch.tanh(linear(x)))


def test_multiscale_discriminator_scales():
    torch.manual_seed(5)
    net = MultiScaleDiscriminator(3, n_scales=3, base_filters=4, n_layers=2).eval()
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        output = net(x)
        assert [len(scale) for scale in output] == [4, 4, 4]
        assert [scale[0].shape[-1] for scale in output] == [32, 16, 8]
        coarse = F.avg_pool2d(F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), 3, 2, 1, count_include_pad=False)
        for got, expected in zip(output[2], net.scales[2](coarse), strict=True):
            assert torch.equal(got, expected)
    assert all(isinstance(d.blocks[1][1], torch.nn.InstanceNorm2d) for d in net.scales)


# Losses


def test_gan_loss_bce():
    bce = losses.GANLoss("bce")
    perfect_real, perfect_fake = torch.full((2, 1, 4, 4), 30.0), torch.full((2, 1, 4, 4), -30.0)
    assert bce(perfect_real, True) < 1e-12
    assert bce(perfect_fake, False) < 1e-12
    assert bce(perfect_real, False) == pytest.approx(30.0)
    undecided = torch.zeros(2, 1, 4, 4)
    assert bce(undecided, True) == pytest.approx(math.log(2))
    assert bce(undecided, False) == pytest.approx(math.log(2))
    assert bce(torch.ones(1, 1, 3, 3), True) == pytest.approx(math.log1p(math.exp(-1)))


def test_gan_loss_lsgan_and_scales():
    lsgan = losses.GANLoss("lsgan")
    assert lsgan(torch.ones(1, 1, 4, 4), True) == 0
    assert lsgan(torch.zeros(1, 1, 4, 4), False) == 0
    assert lsgan(torch.full((1, 1, 4, 4), 0.5), True) == pytest.approx(0.25)
    assert lsgan(torch.full((1, 1, 4, 4), 0.25), False) == pytest.approx(0.0625)
    # Multi-scale output: per-scale feature lists, predictions last; averaged over scales.
    feature = torch.randn(1, 8, 4, 4)
    output = [[feature, torch.ones(1, 1, 4, 4)], [feature, torch.full((1, 1, 2, 2), 0.5)]]
    assert lsgan(output, True) == pytest.approx((0 + 0.25) / 2)


def test_correlation_coefficient():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(3, 1, 8, 8))
    b = 0.7 * a + rng.normal(size=a.shape)
    pearson = losses.correlation_coefficient(torch.from_numpy(a), torch.from_numpy(b), kind="pearson").numpy()
    expected = [np.corrcoef(a[i].ravel(), b[i].ravel())[0, 1] for i in range(3)]
    np.testing.assert_allclose(pearson, expected, rtol=1e-6)
    # Concordance also penalises a difference of mean (and of scale); Pearson does not.
    shifted = torch.from_numpy(b + 1.0)
    concordance = losses.correlation_coefficient(torch.from_numpy(a), shifted, kind="concordance")
    pearson_shifted = losses.correlation_coefficient(torch.from_numpy(a), shifted, kind="pearson")
    np.testing.assert_allclose(pearson_shifted.numpy(), pearson, rtol=1e-6)
    assert (concordance < pearson_shifted).all()
    same = torch.from_numpy(a)
    for kind in ("pearson", "concordance"):
        np.testing.assert_allclose(losses.correlation_coefficient(same, same, kind=kind).numpy(), 1, rtol=1e-6)


@pytest.mark.parametrize("kind", ["pearson", "concordance"])
def test_correlation_loss(kind):
    torch.manual_seed(7)
    # A smooth field, whose variance survives the average pooling of the coarser scales.
    real = F.interpolate(torch.randn(2, 1, 4, 4), size=(32, 32), mode="bilinear", align_corners=False)
    real = real - real.mean(dim=(1, 2, 3), keepdim=True)
    assert losses.correlation_loss(real, real.clone(), kind=kind) == pytest.approx(0, abs=1e-6)
    assert losses.correlation_loss(real + 0.5 * torch.randn_like(real), real, kind=kind) > 0.01
    assert losses.correlation_loss(real, -real, scales=1, kind=kind) == pytest.approx(2, abs=1e-6)


def test_feature_matching_loss():
    torch.manual_seed(8)
    output = [[torch.randn(1, 4, 8, 8), torch.randn(1, 1, 6, 6)], [torch.randn(1, 4, 4, 4), torch.randn(1, 1, 2, 2)]]
    same = [[f.clone() for f in scale] for scale in output]
    assert losses.feature_matching_loss(output, same) == 0
    other = [[f + 1 for f in scale[:-1]] + [scale[-1]] for scale in output]
    assert losses.feature_matching_loss(other, output) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="intermediate features"):
        losses.feature_matching_loss([[torch.zeros(1, 1, 2, 2)]], [[torch.zeros(1, 1, 2, 2)]])


# Bad arguments


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: GlobalGenerator(norm="group"), r"norm must be one of \('instance', 'batch', 'none'\), got 'group'"),
        (lambda: GlobalGenerator(padding="circular"), "padding must be one of"),
        (lambda: GlobalGenerator(n_down=0), "n_down must be an integer >= 1, got 0"),
        (lambda: GlobalGenerator(n_res=-1), "n_res must be an integer >= 0, got -1"),
        (lambda: GlobalGenerator(in_channels=0), "in_channels must be an integer >= 1"),
        (lambda: GlobalGenerator(base_filters=2.5), "base_filters must be an integer >= 1, got 2.5"),
        (lambda: DenoiseGenerator(norm="layer"), "norm must be one of"),
        (lambda: DenoiseGenerator(output_activation="sigmoid"), r"output_activation must be one of \('none', 'tanh'\)"),
        (lambda: DenoiseGenerator(max_filters=0), "max_filters must be an integer >= 1"),
        (lambda: DenoiseGenerator(n_down=0), "n_down must be an integer >= 1"),
        (lambda: PatchDiscriminator(2, n_layers=0), "n_layers must be an integer >= 1, got 0"),
        (lambda: PatchDiscriminator(0), "in_channels must be an integer >= 1"),
        (lambda: PatchDiscriminator(2, norm="spectral"), "norm must be one of"),
        (lambda: MultiScaleDiscriminator(2, n_scales=0), "n_scales must be an integer >= 1, got 0"),
        (lambda: MultiScaleDiscriminator(2, norm="bad"), "norm must be one of"),
        (lambda: losses.GANLoss("wgan"), "GAN loss mode must be 'bce' or 'lsgan'"),
        (lambda: losses.correlation_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), scales=0), "scales"),
        (
            lambda: losses.correlation_coefficient(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), kind="spearman"),
            "kind must be 'pearson' or 'concordance'",
        ),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
