"""
Losses of the published networks.

- adversarial: binary cross-entropy (pix2pix, Kim et al. 2019) or least squares
  (LSGAN, Pix2PixHD and Pix2PixCC, Jeong et al. 2020, 2022);
- L1 and MSE reconstruction (`torch.nn.functional.l1_loss`, `~torch.nn.functional.mse_loss`);
- feature matching between discriminator features of real and generated pairs;
- the multi-scale correlation-coefficient loss of Pix2PixCC (Pearson or concordance CC).
"""

from sunpy_dlmag.exceptions import InvalidArgumentError
from sunpy_dlmag.training._torch import torch

__all__ = ["GANLoss", "correlation_coefficient", "correlation_loss", "feature_matching_loss"]

F = torch.nn.functional


class GANLoss:
    """
    Adversarial loss on discriminator outputs.

    Parameters
    ----------
    mode : {"bce", "lsgan"}
        ``"bce"``: binary cross-entropy on logits; ``"lsgan"``: mean squared distance to
        1 (real) or 0 (fake).

    Notes
    -----
    A discriminator output may be a tensor, or (multi-scale discriminators) a list with
    one list of features per scale whose last element is the prediction; the loss is
    averaged over scales.
    """

    def __init__(self, mode="lsgan"):
        if mode not in ("bce", "lsgan"):
            raise InvalidArgumentError(f"GAN loss mode must be 'bce' or 'lsgan', got {mode!r}.")
        self.mode = mode

    def __call__(self, output, target_is_real):
        predictions = _predictions(output)
        total = 0.0
        for prediction in predictions:
            target = torch.full_like(prediction, 1.0 if target_is_real else 0.0)
            if self.mode == "bce":
                total = total + F.binary_cross_entropy_with_logits(prediction, target)
            else:
                total = total + F.mse_loss(prediction, target)
        return total / len(predictions)


def _predictions(output):
    if isinstance(output, torch.Tensor):
        return [output]
    return [scale[-1] if isinstance(scale, list | tuple) else scale for scale in output]


def feature_matching_loss(fake_output, real_output):
    """
    L1 distance between the intermediate discriminator features of generated and real pairs.

    Both arguments are multi-scale discriminator outputs (lists of per-scale feature
    lists); the final prediction of each scale is left out, the real features are detached,
    and the mean is taken over scales and layers as in Pix2PixHD.
    """
    total, count = 0.0, 0
    for fake_scale, real_scale in zip(fake_output, real_output, strict=True):
        for fake, real in zip(fake_scale[:-1], real_scale[:-1], strict=True):
            total = total + F.l1_loss(fake, real.detach())
            count += 1
    if count == 0:
        raise InvalidArgumentError("feature_matching_loss needs discriminators that return intermediate features.")
    return total / count


def correlation_coefficient(a, b, *, kind="concordance", eps=1e-8):
    """
    Per-sample correlation coefficient of two ``(N, C, H, W)`` batches, shape ``(N,)``.

    ``kind="pearson"`` is the Pearson CC; ``kind="concordance"`` Lin's concordance CC,
    which also penalises differences of mean and scale.
    """
    a = a.flatten(1)
    b = b.flatten(1)
    mean_a, mean_b = a.mean(dim=1), b.mean(dim=1)
    da, db = a - mean_a[:, None], b - mean_b[:, None]
    cov = (da * db).mean(dim=1)
    var_a, var_b = (da**2).mean(dim=1), (db**2).mean(dim=1)
    if kind == "pearson":
        return cov / (torch.sqrt(var_a) * torch.sqrt(var_b) + eps)
    if kind == "concordance":
        return 2 * cov / (var_a + var_b + (mean_a - mean_b) ** 2 + eps)
    raise InvalidArgumentError(f"kind must be 'pearson' or 'concordance', got {kind!r}.")


def correlation_loss(fake, real, *, scales=4, kind="concordance"):
    """
    Multi-scale correlation-coefficient loss of Pix2PixCC: mean over scales of ``1 - CC``.

    Between scales both images are smoothed and halved by 3x3 average pooling.
    """
    if scales < 1:
        raise InvalidArgumentError(f"scales must be >= 1, got {scales}.")
    total = 0.0
    for scale in range(scales):
        if scale:
            fake = F.avg_pool2d(fake, 3, stride=2, padding=1, count_include_pad=False)
            real = F.avg_pool2d(real, 3, stride=2, padding=1, count_include_pad=False)
        total = total + (1 - correlation_coefficient(fake, real, kind=kind)).mean()
    return total / scales
