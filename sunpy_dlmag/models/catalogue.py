"""
The published networks of the Kyung Hee University solar group, as registry entries.

Geometry and normalisation follow the papers (see the model cards in the docs). Weights ship
for ``denoise-m2`` only, trained with this package on real magnetograms; the other entries
describe what the package runs once weights are trained with ``sunpy-dlmag train PRESET`` or
downloaded (no paired training data could be obtained for them here).
"""

import astropy.units as u

from sunpy_dlmag.models.spec import Channel, Geometry, ModelSpec, Normalization, WeightsSource

__all__ = ["PUBLISHED_MODELS"]

# The denoise-m2 weights that ship with the package (model card: weights/denoise-m2.rst;
# reproduce with tools/train_denoise_m2.py, tools/package_denoise_m2.py, tools/evaluate_denoise.py).
DENOISE_M2_SHA256 = "278fb3c5d721f6cab5f86631b1815c5e2fc653e7e4971bb5c529f69602e83164"
DENOISE_M2_TRAINING = (
    "Real magnetograms with added Gaussian noise (mean U(-1, 1) G, sigma 12 +- 4 G), 128-px patches, "
    "loss 1000 x (MSE + field-strength-weighted MSE): "
    "SOHO/MDI 96-min full disk 2010-10-15 northern half (2x2 binned), SDO/HMI 720-s SHARP 377 (AR 11158) "
    "2011-02-15, SOHO/MDI AR 11101 cutout 2010-08-30 (2x2 binned); held out: the southern half of the "
    "2010-10-15 MDI disk and the HMI 720-s AR 11101 cutout"
)
# Measured by tools/evaluate_denoise.py on the held-out data (noise: quiet-Sun Gaussian fit).
DENOISE_M2_SCORES = {
    "MDI south half noise level (G)": "13.66 -> 5.54",
    "MDI south half flux change, |B| > 100 G (%)": -2.7,
    "MDI south half AR pixel CC": 0.992,
    "MDI south half residual vs smoothed field CC": -0.001,
    "HMI AR 11101 noise level (G)": "3.96 -> 3.35",
    "HMI AR 11101 flux change, |B| > 100 G (%)": 0.3,
    "HMI AR 11101 AR pixel CC": 1.000,
    "HMI AR 11101 residual vs smoothed field CC": -0.068,
}

# The denoise-m2-hmi weights (model card: weights/denoise-m2-hmi.rst; reproduce with
# tools/train_denoise_hmi.py, tools/package_denoise_m2.py, tools/evaluate_denoise_hmi.py).
DENOISE_M2_HMI_SHA256 = "d09f884f8bcf9883008a3be3e894dbb91343754a069b71d73fc9cafb8a105230"
DENOISE_M2_HMI_TRAINING = (
    "Real SDO/HMI 720-s magnetograms at full resolution with added Gaussian noise (mean U(-1, 1) G, "
    "sigma 10 +- 4 G), 128-px patches across the disk up to the limb, loss 1000 x (MSE + field-strength-weighted "
    "MSE), fine-tuned from denoise-m2: one half of each of the full disks of 2011-12-17, 2016-07-07 and "
    "2019-06-21 (with extra patches around their strongest fields) and the SHARP 377 (AR 11158) magnetogram "
    "2011-02-15; held out: the other half of each disk and the HMI AR 11101 cutout 2010-08-30"
)
# Measured by tools/evaluate_denoise_hmi.py: the held-out northern halves of the three disks with
# 10 G Gaussian noise added (the 45-s level), judged against the 720-s originals.
DENOISE_M2_HMI_SCORES = {
    "disk centre (mu >= 0.9) noise level (G), 2016/2019/2011": "11.47 -> 3.73, 11.44 -> 3.70, 12.11 -> 4.04",
    "disk centre noise reduction, 2016/2019/2011": "3.07, 3.09, 3.00",
    "near limb (0.3 <= mu < 0.5) noise reduction, 2016/2019/2011": "2.65, 2.66, 2.68",
    "flux change, |B| > 100 G, three halves (%)": 0.08,
    "flux change, |B| > 100 G: Gaussian / median filter at the same noise (%)": "-17.7 / -35.2",
    "AR pixel CC, 256-arcsec box with the most flux, 2016/2019/2011 (2019 holds no AR)": "0.992, 0.965, 0.999",
    "AR pixel CC ceiling set by the 720-s reference's noise, 2016/2019/2011": "0.993, 0.962, 0.999",
    "residual vs smoothed field CC, 2016/2019/2011": "0.014, 0.032, -0.001",
    "pixels within 1 sigma of the calibrated uncertainty, noise from the HMI noise model, inside 0.95 R, "
    "by radial bin, 2016/2019/2011": "0.67-0.68, 0.67-0.68, 0.63-0.65 (white noise: 0.68-0.82, conservative)",
}

AISFM_GEOMETRY = dict(image_size=1024, rsun_px=392.0)
# log10(clip(I, 1, 200)) -> [-1, 1] (Jeong et al. 2020)
EUV_NORM = Normalization("log10", 1.0, 200.0)


def _euv(instrument, wavelength, description=""):
    return Channel(instrument, wavelength * u.AA, "DN/s", EUV_NORM, description)


def _magnetogram(saturation, instrument="HMI", description="line-of-sight magnetogram"):
    return Channel(instrument, None, "G", Normalization("linear", -saturation, saturation), description)


_AIA_3 = (_euv("AIA", 304), _euv("AIA", 193), _euv("AIA", 171))
_PIX2PIXHD = "Pix2PixHD global generator (32 base filters, 4 downsamplings, 9 residual blocks, instance norm)"
_FARSIDE_DATA = "SDO/AIA -> SDO/HMI pairs 2011-2017, 12-h cadence; September and October held out"

PUBLISHED_MODELS = (
    ModelSpec(
        name="aisfm-v1",
        task="farside",
        architecture="pix2pix U-Net (stride-2 convolutions down to 1x1, dropout, tanh) + 70x70 PatchGAN",
        inputs=(_euv("AIA", 304, "scaled like AISFM-v2; Kim et al. 2019 do not publish the exact scaling"),),
        output=_magnetogram(100.0),
        geometry=Geometry(**AISFM_GEOMETRY, stride=1024, receptive_radius=3069, tile_safe=False),
        version="published",
        training_data=_FARSIDE_DATA + " (4,147 training / 825 evaluation pairs)",
        reference="Kim, Park, Lee et al. 2019, Nature Astronomy 3, 397",
        preset="aisfm-v1",
    ),
    ModelSpec(
        name="aisfm-v2",
        task="farside",
        architecture=_PIX2PIXHD + " + two-scale PatchGAN, LSGAN + 10 x feature matching",
        inputs=_AIA_3,
        output=_magnetogram(3000.0),
        geometry=Geometry(**AISFM_GEOMETRY, stride=16, receptive_radius=324, tile_safe=False),
        version="published",
        training_data=_FARSIDE_DATA,
        scores={
            "full-disk pixel CC (8x8)": 0.81,
            "AR pixel CC (8x8)": 0.79,
            "QR pixel CC (8x8)": 0.62,
            "full-disk total unsigned flux CC": 0.99,
            "full-disk net flux CC": 0.86,
        },
        reference="Jeong et al. 2020, ApJL 903, L25",
        preset="aisfm-v2",
    ),
    ModelSpec(
        name="pix2pixcc",
        task="farside",
        architecture=_PIX2PIXHD + " + two-scale PatchGAN, 2 x LSGAN + 10 x FM + 5 x concordance CC (4 scales)",
        inputs=_AIA_3,
        output=_magnetogram(3000.0),
        geometry=Geometry(**AISFM_GEOMETRY, stride=16, receptive_radius=324, tile_safe=False),
        version="published",
        training_data=_FARSIDE_DATA,
        reference="Jeong et al. 2022, ApJS 262, 50",
        preset="pix2pixcc",
    ),
    ModelSpec(
        name="aisfm-v3",
        task="farside",
        architecture=_PIX2PIXHD + " with correlation-coefficient loss (Pix2PixCC)",
        inputs=(
            _euv("EUVI", 304),
            _euv("EUVI", 195),
            _euv("EUVI", 171),
            *_AIA_3,
            _magnetogram(1500.0, description="frontside HMI magnetogram about one rotation earlier"),
        ),
        output=_magnetogram(1500.0),
        geometry=Geometry(**AISFM_GEOMETRY, stride=16, receptive_radius=324, tile_safe=False),
        version="published",
        training_data=_FARSIDE_DATA,
        scores={"full-disk pixel CC (8x8)": 0.88, "AR pixel CC (8x8)": 0.91, "QR pixel CC (8x8)": 0.70},
        reference="Jeong et al. 2022, ApJS 262, 50",
        preset="aisfm-v3",
    ),
    ModelSpec(
        name="denoise-m1",
        task="denoise",
        architecture="Park et al. 2020 generator (4 stride-2 down, 9 residual blocks, 4 up with skips) + PatchGAN",
        inputs=(_magnetogram(100.0, description="HMI 45-s line-of-sight magnetogram"),),
        output=_magnetogram(100.0, description="21-frame stacked magnetogram"),
        geometry=Geometry(stride=16, receptive_radius=333),
        version="published",
        training_data="256x256 disk-centre patches of HMI 45-s magnetograms, 21-frame stacked targets",
        scores={"noise level (G)": "8.66 -> 3.21", "pixel CC": "0.88 -> 0.94"},
        reference="Park et al. 2020, ApJL 891, L4",
        preset="denoise-m1",
    ),
    ModelSpec(
        name="denoise-m2",
        task="denoise",
        architecture=(
            "Park et al. 2020 generator, reduced for CPUs: 4 stride-2 down (32-128 filters), 4 residual blocks, "
            "4 up with skips, a 16-filter stage at full resolution, batch norm, residual output "
            "(input + learned correction); 2.5 M parameters"
        ),
        # Not clipped: the autoencoder must keep strong fields (SCIENCE.md clips M1 only).
        inputs=(
            Channel("HMI", None, "G", Normalization("linear", -100.0, 100.0, clip=False), "line-of-sight magnetogram"),
        ),
        output=Channel("HMI", None, "G", Normalization("linear", -100.0, 100.0, clip=False), "denoised magnetogram"),
        geometry=Geometry(stride=16, receptive_radius=175),
        version="1.0",
        training_data=DENOISE_M2_TRAINING,
        scores=DENOISE_M2_SCORES,
        license="BSD-3-Clause (weights); data: SOHO/MDI and SDO/HMI, public",
        reference="Park et al. 2020, ApJL 891, L4 (method M2); weights trained by the sunpy-dlmag developers",
        weights=WeightsSource(sha256=DENOISE_M2_SHA256, bundled="denoise-m2.onnx"),
        preset="denoise-m2",
    ),
    ModelSpec(
        name="denoise-m2-hmi",
        task="denoise",
        architecture=(
            "the denoise-m2 network without batch normalisation (its statistics folded into the convolutions): "
            "4 stride-2 down (32-128 filters), 4 residual blocks, 4 up with skips, a 16-filter stage at full "
            "resolution, residual output; 2.5 M parameters"
        ),
        inputs=(
            Channel(
                "HMI",
                None,
                "G",
                Normalization("linear", -100.0, 100.0, clip=False),
                "SDO/HMI line-of-sight magnetogram",
            ),
        ),
        output=Channel("HMI", None, "G", Normalization("linear", -100.0, 100.0, clip=False), "denoised magnetogram"),
        geometry=Geometry(stride=16, receptive_radius=175),
        version="1.0",
        training_data=DENOISE_M2_HMI_TRAINING,
        scores=DENOISE_M2_HMI_SCORES,
        license="BSD-3-Clause (weights); data: SDO/HMI, public",
        reference="Park et al. 2020, ApJL 891, L4 (method M2); weights trained by the sunpy-dlmag developers",
        weights=WeightsSource(sha256=DENOISE_M2_HMI_SHA256, bundled="denoise-m2-hmi.onnx"),
        preset="denoise-m2-hmi",
    ),
    ModelSpec(
        name="drawing",
        task="drawing",
        architecture=_PIX2PIXHD,
        inputs=(Channel("drawing", None, "", Normalization("linear", 0.0, 255.0), "scanned sunspot drawing"),),
        output=_magnetogram(3000.0),
        geometry=Geometry(**AISFM_GEOMETRY, stride=16, receptive_radius=324, tile_safe=False),
        version="published",
        training_data="Mount Wilson sunspot drawings 2011-2015 paired with SDO/HMI; June and December held out",
        reference="Lee et al. 2021, ApJ 907, 118",
        preset="drawing",
    ),
)
