#!/usr/bin/env python3
"""Python anchors, "Models" table of shared/anchors.md (PyTorch CPU, float32).

Builds ASDNet, MobileFaceNet variant B, TgramNet, STgram-MFN (variant B), the attention + separable-convolution
net of seed 001 (Neri & Carli) and the OS-SCL networks of seed 002 (Huang, Fang & He: TFSTgram(OS-SCL) with
TFgramNet and the feature perturbation head, and Log-Mel(OS-SCL)) from the workspace specs
(shared/spec/asdnet_specmfn.md, shared/spec/stgram_mfn.md, shared/spec/neri_attention.md with
shared/spec/losses_arcmix.md, shared/spec/os_scl.md), checks their parameter counts against the specs,
shared/spec/decisions.md §9 and shared/anchors.md, and times the workloads of benches/models.rs: forwards, training
steps (the attention net's with Noisy-ArcMix on waveforms, TFSTgram(OS-SCL)'s with mixup, SupCon + Noisy-ArcMix and
the weight EMA) and the log-Mel front end.

Usage:
    ANCHOR_THREADS=2 python3 benches/anchors/models.py [--json PATH] [--repeats 7] [--warmup 2] [--filter SUBSTRING]

Prints one line per workload, `name<TAB>median_ms<TAB>min_ms<TAB>max_ms`, and writes every sample plus the
environment to the JSON file given by --json. For the "tuned" column of shared/anchors.md run it with
GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184 (run_all.sh does).
"""

import copy
import math
import random
import sys

# common before torch / numpy: importing it sets the thread-count variables (ANCHOR_THREADS → OMP_NUM_THREADS, …)
# that their OpenMP and BLAS runtimes read once, when they load.
import common
from common import HOP_LENGTH, MEL_POWER, N_FFT, N_MELS, SAMPLE_RATE, THREADS, WIN_LENGTH, Runner, arg_parser, inference

import torch  # after common, see above
import torch.nn.functional as F
import torchaudio
from torch import nn

# --- Constants --------------------------------------------------------------------------------------------------
N_CLASSES = 41  # machine type × ID classes, both systems (asdnet_specmfn.md §1; stgram_mfn.md §6)
EMBEDDING_DIM = 128  # embedding z (asdnet_specmfn.md §2.1; stgram_mfn.md §4.2)

SPECTRUM_BINS = 16_001  # |rfft| of a 2-s segment at 16 kHz, ASDNet input (asdnet_specmfn.md §1)
# ASDNet Conv1d stack [out_ch, kernel, stride], padding 0, bias, ReLU after each (asdnet_specmfn.md §2.1/§2.4).
ASDNET_LAYERS = ((128, 9, 6), (128, 7, 5), (128, 5, 3), (128, 5, 3), (128, 3, 2), (128, 3, 2), (128, 3, 2), (128, 3, 2))
ASDNET_ARC_SCALE = 30.0  # ArcFace s for ASDNet (asdnet_specmfn.md §4.1; shared/anchors.md)
ASDNET_ARC_MARGIN = 0.5  # ArcFace m for ASDNet (asdnet_specmfn.md §4.1; shared/anchors.md)
ASDNET_LR = 1e-4  # Adam lr (asdnet_specmfn.md §5; benches/models.rs OptimizerConfig::adam(1e-4))

CLIP_SAMPLES = 160_000  # one 10-s clip, STgram-MFN input (stgram_mfn.md §1.3)
N_FRAMES = 313  # 1 + 160000 // 512 frames = image width = TgramNet LayerNorm width (stgram_mfn.md §1.2, §2)
TGRAM_BLOCKS = 3  # LayerNorm → LeakyReLU → Conv1d blocks (stgram_mfn.md §2, num_layer=3)
TGRAM_LEAKY_SLOPE = 0.2  # LeakyReLU negative slope (stgram_mfn.md §2)
# MobileFaceNet variant B bottleneck setting (t, c, n, s) (stgram_mfn.md §4.3; asdnet_specmfn.md §3.3).
MFN_SETTING_B = ((2, 128, 2, 2), (4, 128, 2, 2), (4, 128, 2, 2))
MFN_STEM_CHANNELS = 64  # conv1 / dw_conv1 width (stgram_mfn.md §4.2)
MFN_CONV2_CHANNELS = 512  # conv2 / GDC width (stgram_mfn.md §4.2)
STGRAM_ARC_SCALE = 30.0  # ArcFace s for STgram-MFN (stgram_mfn.md §5.1; shared/anchors.md)
STGRAM_ARC_MARGIN = 0.7  # ArcFace m for STgram-MFN (stgram_mfn.md §5.1; shared/anchors.md)
STGRAM_LR = 1e-4  # AdamW lr (stgram_mfn.md §6; benches/models.rs OptimizerConfig::adamw(1e-4))
ADAMW_WEIGHT_DECAY = 0.01  # torch AdamW default = asd-train ADAMW_WEIGHT_DECAY

NERI_LOG_EPS = 1e-8  # log-Mel = 10·log10(Mel power + 1e-8), the reference code's (neri_attention.md §3.1)
NERI_MEL_NORM = "slaney"  # Slaney area-normalised HTK filterbank, unlike STgram-MFN (neri_attention.md §3.1)
# Wavegram: one SeparableConv1d(1 → 128, k 1024, s 512, p 512) with separableconv-torch defaults: bias, BN + ReLU
# after the depthwise and after the pointwise conv (neri_attention.md §3.2).
NERI_WAVEGRAM_PADDING = 512  # zero padding of the Wavegram's depthwise conv (neri_attention.md §3.2)
NERI_HEATMAP_WIDTHS = (16, 64)  # attention SeparableConv2d widths 2 → 16 → 64 → 2 (neri_attention.md §4)
NERI_ARC_SCALE = 40.0  # ArcFace s for the attention net (neri_attention.md §1, §6; losses_arcmix.md §2)
NERI_ARC_MARGIN = 0.7  # ArcFace m for the attention net (neri_attention.md §1, §6; losses_arcmix.md §2)
NERI_MIXUP_ALPHA = 0.2  # λ ~ Beta(0.2, 0.2) per batch, on waveforms (neri_attention.md §10; losses_arcmix.md §3)
NERI_LR = 1e-4  # AdamW lr, weight decay 0.01 (neri_attention.md §10)
NERI_SEED = 0  # seed of the λ and permutation draws of the training step (ours: repeatable runs)

OS_SCL_N_FFT = 2048  # STFT size = window length of OS-SCL's Wave2Mel (os_scl.md §2.2)
OS_SCL_PAD_MODE = "constant"  # centred zero padding of n_fft/2 samples each side (os_scl.md §2.2)
OS_SCL_MEL_SCALE = "slaney"  # Slaney mel scale (linear below 1 kHz, log above), not HTK (os_scl.md §2.2)
OS_SCL_MEL_NORM = "slaney"  # Slaney area-normalised filters (os_scl.md §2.2)
# TFgramNet stem Conv1d (out_ch, kernel, stride, padding), no bias, then BN1d + ReLU (os_scl.md §3.2).
TFGRAM_STEM = (64, 11, 5, 5)
TFGRAM_BLOCKS = ((64, 64), (64, 128), (128, 128))  # pre_block1…3 channels in → out (os_scl.md §3.2, §9 #1)
TFGRAM_DILATION = 2  # second conv of every block: k3, padding 2, dilation 2 (os_scl.md §3.2)
TFGRAM_FIRST_POOL = 4  # max_pool1d(4) after pre_block1 (os_scl.md §3.2)
TFGRAM_SECOND_POOL = 2 * N_FRAMES  # AdaptiveMaxPool1d(626) after pre_block2, then (313) after pre_block3 (§3.2)
FPH_BOTTLENECK = 64  # FPH hidden width R, hard-coded in the reference (os_scl.md §1, §3.5)
FPH_LEAKY_SLOPE = 0.01  # LeakyReLU slope of the Log-Mel variant's FPH (os_scl.md §1, §9 #4)
OS_SCL_ARC_SCALE = 30.0  # ArcFace s, both variants (os_scl.md §1, §3.6)
OS_SCL_TFSTGRAM_MARGIN = 0.4  # ArcFace m of TFSTgram(OS-SCL) (os_scl.md §1)
OS_SCL_LOGMEL_MARGIN = 0.7  # ArcFace m of Log-Mel(OS-SCL) (os_scl.md §1, §9 #14)
OS_SCL_SUPCON_TEMPERATURE = 0.02  # SupCon τ (os_scl.md §1, §4.1)
OS_SCL_SUPCON_BASE_TEMPERATURE = 0.07  # SupCon τ_b: the loss is scaled by τ/τ_b (os_scl.md §1, §4.1)
OS_SCL_MIXUP_ALPHA = 0.5  # λ ~ Beta(0.5, 0.5) per batch, on waveforms and log-Mels (os_scl.md §1, §4)
OS_SCL_LR = 1e-4  # AdamW lr, weight decay 0.01 (os_scl.md §1)
OS_SCL_EMA_DECAY = 0.9999  # EMA of every float state entry per optimizer step (os_scl.md §1, §5 WeightEMA)
OS_SCL_EMA_WEIGHT_DECAY = 2e-6  # then the online float state × (1 − 2e-6) per step (os_scl.md §1, §5)
OS_SCL_SEED = 0  # seed of the λ and permutation draws of the training step (ours: repeatable runs)

ASDNET_BATCH = 64  # ASDNet batch (shared/anchors.md; benches/models.rs)
MFN_BATCH = 16  # MobileFaceNet / STgram-MFN batch (shared/anchors.md; benches/models.rs)
NERI_BATCH = 64  # attention-net training batch (neri_attention.md §10; benches/models.rs attention_net)
OS_SCL_BATCH = 64  # OS-SCL training batch (os_scl.md §1)

# Parameter counts (`sum(p.numel())`), asserted below; shared/anchors.md "params" column, broken down by the specs.
PARAMS_ASDNET = 510_208  # conv stack + Linear(256→128) (asdnet_specmfn.md §2.1 table)
PARAMS_ASDNET_WITH_ARCFACE = 515_456  # + ArcFace W 41×128 = 5 248 (asdnet_specmfn.md §2.1; anchors training row)
PARAMS_MFN_B_1CH = 869_760  # 1-ch trunk conv1…linear1, no fc_out, GDC (8, 20) (stgram_mfn.md §8.1)
PARAMS_TGRAMNET = 280_406  # (stgram_mfn.md §2, §8.1)
PARAMS_STGRAM_MFN_B = 1_161_279  # TgramNet + 2-ch trunk + fc_out + ArcFace W (stgram_mfn.md §8.1)
PARAMS_NERI_WAVEGRAM = 1_539  # dw conv 1 025 + BN 2 + pw conv 256 + BN 256 (neri_attention.md §3.2)
PARAMS_NERI_HEATMAP = 1_964  # attention module, heatmap.0…7 (neri_attention.md §4)
PARAMS_NERI_MFN_B_2CH = 875_625  # 2-ch MobileFaceNet B incl. the unused fc_out 5 289 (neri_attention.md §7)
PARAMS_NERI_ATTENTION = 879_087  # all but the unused fc_out, with ArcFace W (decisions.md §9; neri_attention.md §7)
PARAMS_NERI_ATTENTION_WITH_FC_OUT = 884_376  # + fc_out 5 289: the paper's 884 k (neri_attention.md §1, §7)
PARAMS_TFGRAMNET = 198_720  # the used part: stem, pre_block1…3 (os_scl.md §3.2, §7)
PARAMS_FPH = 16_960  # Linear 8 256 + BN 128 + Linear 8 320 + BN 256 (os_scl.md §3.5)
PARAMS_OS_SCL_MFN_B_3CH = 876_201  # 3-ch MobileFaceNet B incl. the unused fc_out 5 289 (os_scl.md §3.4)
# TgramNet + TFgramNet + 3-ch MFN without fc_out + FPH + ArcFace W (os_scl.md §7 "functional model").
PARAMS_OS_SCL_TFSTGRAM = 1_372_246
PARAMS_OS_SCL_TFSTGRAM_WITH_FC_OUT = 1_377_535  # + fc_out: the pruned checkpoint, the paper's 1.38 M (os_scl.md §7)
PARAMS_OS_SCL_LOGMEL = 891_968  # 1-ch MFN without fc_out + FPH + ArcFace W; no Tgram / TFgram (os_scl.md §7)
PARAMS_OS_SCL_LOGMEL_WITH_FC_OUT = 897_257  # + fc_out; the paper's 0.88 M is not reproducible (os_scl.md §7, §9 #13)


# --- Networks (written from the specs) ----------------------------------------------------------------------------
class AsdNet(nn.Module):
    """ASDNet: 8 × (Conv1d + ReLU), no padding, then flatten + Linear(C₈·L₈ → 128) (asdnet_specmfn.md §2.1, D2)."""

    def __init__(self, n_bins=SPECTRUM_BINS, layers=ASDNET_LAYERS, embedding_dim=EMBEDDING_DIM):
        super().__init__()
        convs, c_in, length = [], 1, n_bins
        for c_out, kernel, stride in layers:
            convs += [nn.Conv1d(c_in, c_out, kernel, stride, padding=0, bias=True), nn.ReLU()]
            c_in, length = c_out, (length - kernel) // stride + 1  # L_out = floor((L_in − k)/s) + 1
        self.convs = nn.Sequential(*convs)
        self.embedding = nn.Linear(c_in * length, embedding_dim)  # 128·2 = 256 inputs for 16 001 bins

    def forward(self, x):  # x: [B, 1, 16001] → z: [B, 128]
        return self.embedding(self.convs(x).flatten(1))  # channel-major flatten, as torch flatten(1)


class ArcFace(nn.Module):
    """ArcMarginProduct, not-easy-margin branch, margin on the target class only (stgram_mfn.md §5.1)."""

    def __init__(self, n_classes, embedding_dim, scale, margin):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_classes, embedding_dim))
        nn.init.xavier_uniform_(self.weight)  # reference init (stgram_mfn.md §4.5)
        self.scale = scale
        self.cos_m, self.sin_m = math.cos(margin), math.sin(margin)
        self.th = math.cos(math.pi - margin)  # below this cos, fall back to cos − mm
        self.mm = math.sin(math.pi - margin) * margin

    def forward(self, z, label):  # logits [B, n_classes]
        cos = F.linear(F.normalize(z, eps=1e-12), F.normalize(self.weight, eps=1e-12))
        sin = torch.sqrt((1.0 - cos * cos).clamp_min(0.0))  # clamp: the reference would give NaN there
        phi = cos * self.cos_m - sin * self.sin_m  # cos(θ + m)
        phi = torch.where(cos > self.th, phi, cos - self.mm)
        target = F.one_hot(label, cos.shape[1]).to(cos.dtype)
        return self.scale * (target * phi + (1.0 - target) * cos)


def conv_block(c_in, c_out, kernel, stride=1, padding=0, depthwise=False, linear=False):
    """Conv2d (no bias) → BatchNorm2d → PReLU per channel; no PReLU when linear (stgram_mfn.md §4.1)."""
    layers = [
        nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=c_in if depthwise else 1, bias=False),
        nn.BatchNorm2d(c_out),  # eps 1e-5, momentum 0.1: torch defaults (stgram_mfn.md §4.1)
    ]
    if not linear:
        layers.append(nn.PReLU(c_out))  # one slope per channel, init 0.25
    return nn.Sequential(*layers)


class Bottleneck(nn.Module):
    """Inverted residual, hidden width inp·t, residual iff stride 1 and inp == oup (stgram_mfn.md §4.1)."""

    def __init__(self, inp, oup, stride, expansion):
        super().__init__()
        hidden = inp * expansion
        self.residual = stride == 1 and inp == oup
        self.conv = nn.Sequential(
            nn.Conv2d(inp, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.PReLU(hidden),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.PReLU(hidden),
            nn.Conv2d(hidden, oup, 1, bias=False),
            nn.BatchNorm2d(oup),
        )

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


def halve(n):
    """Output size of a 3×3, stride-2, padding-1 conv: ceil(n / 2) (stgram_mfn.md §4.2)."""
    return (n - 1) // 2 + 1


class MobileFaceNet(nn.Module):
    """MobileFaceNet trunk conv1 … linear1 on [B, C_in, 128, 313], optional fc_out (stgram_mfn.md §4.2)."""

    def __init__(self, in_channels, image=(N_MELS, N_FRAMES), setting=MFN_SETTING_B, n_classes=None):
        super().__init__()
        height, width = halve(image[0]), halve(image[1])  # after conv1 (stride 2)
        self.conv1 = conv_block(in_channels, MFN_STEM_CHANNELS, 3, 2, 1)
        self.dw_conv1 = conv_block(MFN_STEM_CHANNELS, MFN_STEM_CHANNELS, 3, 1, 1, depthwise=True)
        blocks, inp = [], MFN_STEM_CHANNELS
        for expansion, channels, repeats, stride in setting:
            for i in range(repeats):
                s = stride if i == 0 else 1  # only the first repeat of a stage strides
                blocks.append(Bottleneck(inp, channels, s, expansion))
                inp = channels
                if s == 2:
                    height, width = halve(height), halve(width)
        self.blocks = nn.Sequential(*blocks)
        self.conv2 = conv_block(inp, MFN_CONV2_CHANNELS, 1)
        # GDC: depthwise kernel = the whole final map, (8, 20) for 128 × 313 (stgram_mfn.md §4.2).
        self.linear7 = conv_block(MFN_CONV2_CHANNELS, MFN_CONV2_CHANNELS, (height, width), depthwise=True, linear=True)
        self.linear1 = conv_block(MFN_CONV2_CHANNELS, EMBEDDING_DIM, 1, linear=True)
        # fc_out exists (and counts) in the reference STgram-MFN module even though ArcFace replaces its output.
        self.fc_out = nn.Linear(EMBEDDING_DIM, n_classes) if n_classes else None
        for m in self.modules():  # reference init: N(0, 2 / (kh·kw·C_out)) for every Conv2d (stgram_mfn.md §4.5)
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))

    def forward(self, x):  # x: [B, C_in, 128, 313] → z: [B, 128] (and fc_out logits when present)
        x = self.dw_conv1(self.conv1(x))
        x = self.linear7(self.conv2(self.blocks(x)))
        z = self.linear1(x).flatten(1)
        return z, (self.fc_out(z) if self.fc_out is not None else None)


class TgramNet(nn.Module):
    """Conv1d(1→128, k1024, s512, p512) then 3 × (LayerNorm(313) → LeakyReLU(0.2) → Conv1d(128, 3, p1))
    (stgram_mfn.md §2); no bias anywhere, LayerNorm over the time axis."""

    def __init__(self):
        super().__init__()
        self.conv_extrctor = nn.Conv1d(1, N_MELS, WIN_LENGTH, HOP_LENGTH, padding=WIN_LENGTH // 2, bias=False)
        self.conv_encoder = nn.Sequential(
            *[
                nn.Sequential(
                    nn.LayerNorm(N_FRAMES),
                    nn.LeakyReLU(TGRAM_LEAKY_SLOPE),
                    nn.Conv1d(N_MELS, N_MELS, 3, 1, 1, bias=False),
                )
                for _ in range(TGRAM_BLOCKS)
            ]
        )

    def forward(self, wave):  # wave: [B, 1, 160000] → Tgram [B, 128, 313]
        return self.conv_encoder(self.conv_extrctor(wave))


class StgramMfn(nn.Module):
    """STgram-MFN variant B: [log-Mel, Tgram] → 2-channel MFN → ArcFace (stgram_mfn.md §3, §4, §5)."""

    def __init__(self, n_classes=N_CLASSES):
        super().__init__()
        self.tgramnet = TgramNet()
        self.mobilefacenet = MobileFaceNet(2, n_classes=n_classes)
        self.arcface = ArcFace(n_classes, EMBEDDING_DIM, STGRAM_ARC_SCALE, STGRAM_ARC_MARGIN)

    def forward(self, wave, logmel, label):  # wave [B, 1, 160000], logmel [B, 128, 313] → logits, z
        image = torch.cat((logmel.unsqueeze(1), self.tgramnet(wave).unsqueeze(1)), dim=1)  # channel 0 = log-Mel
        z, _fc_logits = self.mobilefacenet(image)  # fc_out is computed and discarded, as in the reference
        return self.arcface(z, label), z


class LogMel(nn.Module):
    """STgram-MFN front end: torchaudio MelSpectrogram + AmplitudeToDB, every argument spelled out
    (stgram_mfn.md §1.1; f_max None = 8000 Hz, HTK scale, no filter norm, centred reflect padding). `options` go to
    common.stgram_logmel_transforms (OS-SCL's front end: os_scl_logmel())."""

    def __init__(self, **options):
        super().__init__()
        self.mel, self.to_db = common.stgram_logmel_transforms(**options)

    def forward(self, wave):  # wave [B, 160000] → [B, 128, 313] dB ([B, 1, 160000] → [B, 1, 128, 313])
        return self.to_db(self.mel(wave))


def os_scl_logmel():
    """OS-SCL's Wave2Mel (os_scl.md §2.2): periodic Hann 2048, hop 512, centred zero padding of 1024, power 2,
    128 Slaney-scale filters with Slaney norm over 0–8000 Hz, 10·log10(max(P, 1e-10)), no top_db."""
    return LogMel(
        norm=OS_SCL_MEL_NORM,
        n_fft=OS_SCL_N_FFT,
        win_length=OS_SCL_N_FFT,
        pad_mode=OS_SCL_PAD_MODE,
        mel_scale=OS_SCL_MEL_SCALE,
    )


def neri_mel_transform():
    """The attention net's Mel power spectrogram (neri_attention.md §3.1): STgram-MFN's torchaudio MelSpectrogram
    (periodic Hann 1024, hop 512, centred reflect padding, power 2, HTK, 0–8000 Hz, 128 bands) with Slaney
    area-normalised filters."""
    mel, _ = common.stgram_logmel_transforms(norm=NERI_MEL_NORM)
    return mel


class SeparableConv(nn.Module):
    """separableconv-torch's SeparableConv1d / SeparableConv2d with its defaults: depthwise conv → BN → ReLU →
    pointwise 1×1 conv → BN → ReLU, depth multiplier 1, zero padding (neri_attention.md §3.2, §4). The attribute
    names are the reference's state-dict names (dwconv, dwconv_normalization, pwconv, pwconv_normalization)."""

    def __init__(self, dims, c_in, c_out, kernel, stride=1, padding=0, bias=True):
        super().__init__()
        conv, norm = (nn.Conv1d, nn.BatchNorm1d) if dims == 1 else (nn.Conv2d, nn.BatchNorm2d)
        self.dwconv = conv(c_in, c_in, kernel, stride, padding, groups=c_in, bias=bias)
        self.dwconv_normalization = norm(c_in)
        self.pwconv = conv(c_in, c_out, 1, bias=bias)
        self.pwconv_normalization = norm(c_out)

    def forward(self, x):
        x = F.relu(self.dwconv_normalization(self.dwconv(x)))
        return F.relu(self.pwconv_normalization(self.pwconv(x)))


def neri_heatmap():
    """Attention module f_ATT: Sep2d(2→16, 3×3) BN ELU Sep2d(16→64, 3×3) BN ELU Sep2d(64→2, 1×1, bias) Sigmoid
    (neri_attention.md §4). The ReLU ending the last separable conv comes before the sigmoid: output in [0.5, 1)."""
    c1, c2 = NERI_HEATMAP_WIDTHS
    return nn.Sequential(
        SeparableConv(2, 2, c1, 3, padding=1, bias=False),  # "same" for 3×3 = 1 zero pixel each side
        nn.BatchNorm2d(c1),
        nn.ELU(alpha=1.0),
        SeparableConv(2, c1, c2, 3, padding=1, bias=False),
        nn.BatchNorm2d(c2),
        nn.ELU(alpha=1.0),
        SeparableConv(2, c2, 2, 1, padding=0, bias=True),
        nn.Sigmoid(),
    )


class NeriAttention(nn.Module):
    """Attention + separable-convolution net of seed 001 (Neri & Carli): [log-Mel, Wavegram] → attention map A →
    2-ch MobileFaceNet B on X·A → ArcFace s 40 m 0.7 (neri_attention.md §2). Attribute names follow the reference
    state dict (transform_tf, wavegram, heatmap, classifier, arcface); construction in the reference order (§9)."""

    def __init__(self, n_classes=N_CLASSES):
        super().__init__()
        self.wavegram = SeparableConv(1, 1, N_MELS, WIN_LENGTH, HOP_LENGTH, NERI_WAVEGRAM_PADDING, bias=True)
        self.transform_tf = neri_mel_transform()  # buffers only (window, filterbank): no parameters
        self.heatmap = neri_heatmap()
        self.classifier = MobileFaceNet(2, n_classes=n_classes)  # fc_out built and counted, its output unused
        self.arcface = ArcFace(n_classes, EMBEDDING_DIM, NERI_ARC_SCALE, NERI_ARC_MARGIN)

    def logmel(self, wave):  # wave [B, 160000] → L = 10·log10(Mel power + 1e-8), [B, 128, 313] (§3.1)
        return 10.0 * torch.log10(self.transform_tf(wave) + NERI_LOG_EPS)

    def forward(self, wave, logmel, label):  # wave [B, 160000], logmel [B, 128, 313] → margin logits, embedding
        x = torch.stack((logmel, self.wavegram(wave.unsqueeze(1))), dim=1)  # X [B, 2, 128, 313], ch 0 = log-Mel
        z, _fc_logits = self.classifier(x * self.heatmap(x))  # fc_out is computed and discarded, as in the reference
        return self.arcface(z, label), z


class TfgramBlock(nn.Module):
    """TFgramNet "Convblock": Conv1d k3 p1 → BN1d → ReLU → Conv1d k3 p2 dilation 2 → BN1d → ReLU, no conv bias,
    Xavier-uniform convs (os_scl.md §3.2). Attribute names are the reference's (conv1, bn1, conv2, bn2)."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, 3, 1, TFGRAM_DILATION, dilation=TFGRAM_DILATION, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        nn.init.xavier_uniform_(self.conv1.weight)
        nn.init.xavier_uniform_(self.conv2.weight)

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class TFgramNet(nn.Module):
    """TFgramNet of seed 002, only the layers that run (os_scl.md §3.2, §3.7): Conv1d(1→64, k11, s5, p5) → BN → ReLU,
    pre_block1 → max pool 4, pre_block2 → adaptive max pool 626, pre_block3 → adaptive max pool 313. The 128 output
    channels are the image's frequency axis (no transpose). Attribute names follow the reference (`TFgramNet.`)."""

    def __init__(self):
        super().__init__()
        c_stem, kernel, stride, padding = TFGRAM_STEM
        self.pre_conv0 = nn.Conv1d(1, c_stem, kernel, stride, padding, bias=False)
        self.pre_bn0 = nn.BatchNorm1d(c_stem)
        nn.init.xavier_uniform_(self.pre_conv0.weight)  # reference init (os_scl.md §3.2)
        self.pre_block1, self.pre_block2, self.pre_block3 = (TfgramBlock(c_in, c_out) for c_in, c_out in TFGRAM_BLOCKS)

    def forward(self, wave):  # wave [B, 1, 160000] → TFgram [B, 128, 313]
        x = F.relu(self.pre_bn0(self.pre_conv0(wave)))  # [B, 64, 32000]
        x = F.max_pool1d(self.pre_block1(x), TFGRAM_FIRST_POOL)  # [B, 64, 8000]
        x = F.adaptive_max_pool1d(self.pre_block2(x), TFGRAM_SECOND_POOL)  # [B, 128, 626]
        return F.adaptive_max_pool1d(self.pre_block3(x), N_FRAMES)  # [B, 128, 313]


class FeaturePerturbationHead(nn.Module):
    """FPH (os_scl.md §3.5): Linear(128→64) → act → BN1d → Linear(64→128) → act → BN1d → L2 normalisation, act =
    ReLU (TFSTgram, `BasicHead`) or LeakyReLU(0.01) (Log-Mel, `LeakyReLUHead`). `head` is the reference's name."""

    def __init__(self, leaky):
        super().__init__()

        def act():
            return nn.LeakyReLU(FPH_LEAKY_SLOPE) if leaky else nn.ReLU()

        self.head = nn.Sequential(
            nn.Linear(EMBEDDING_DIM, FPH_BOTTLENECK),
            act(),
            nn.BatchNorm1d(FPH_BOTTLENECK),
            nn.Linear(FPH_BOTTLENECK, EMBEDDING_DIM),
            act(),
            nn.BatchNorm1d(EMBEDDING_DIM),
        )

    def forward(self, e):  # e [B, 128] → z [B, 128], unit rows: h / max(‖h‖₂, 1e-12)
        return F.normalize(self.head(e), dim=1, eps=1e-12)


class OsScl(nn.Module):
    """OS-SCL of seed 002 (os_scl.md §1, §3). fusion=True: TFSTgram(OS-SCL), [log-Mel, Tgram, TFgram] → 3-ch
    MobileFaceNet B → FPH (ReLU) → ArcFace s 30 m 0.4. fusion=False: Log-Mel(OS-SCL), log-Mel → 1-ch MobileFaceNet B
    → FPH (LeakyReLU 0.01) → ArcFace s 30 m 0.7; its Tgram and TFgram branches change nothing and are not built
    (os_scl.md §3.3, §9 #18). Attribute names follow the reference state dict (tgramnet, TFgramNet, mobilefacenet,
    head, arcface); the MobileFaceNet keeps its unused fc_out, as the reference does (§3.4)."""

    def __init__(self, fusion=True, n_classes=N_CLASSES):
        super().__init__()
        self.fusion = fusion
        if fusion:
            self.tgramnet = TgramNet()
            self.TFgramNet = TFgramNet()
        self.mobilefacenet = MobileFaceNet(3 if fusion else 1, n_classes=n_classes)
        self.head = FeaturePerturbationHead(leaky=not fusion)
        margin = OS_SCL_TFSTGRAM_MARGIN if fusion else OS_SCL_LOGMEL_MARGIN
        self.arcface = ArcFace(n_classes, EMBEDDING_DIM, OS_SCL_ARC_SCALE, margin)

    def forward(self, wave, logmel, label):  # wave [B, 1, 160000], logmel [B, 1, 128, 313] → margin logits, z
        image = logmel
        if self.fusion:  # channel order log-Mel, Tgram, TFgram (os_scl.md §3.3)
            image = torch.cat((logmel, self.tgramnet(wave).unsqueeze(1), self.TFgramNet(wave).unsqueeze(1)), dim=1)
        e, _fc_logits = self.mobilefacenet(image)  # fc_out is computed and discarded, as in the reference
        z = self.head(e)
        return self.arcface(z, label), z  # the margin sits at `label`: y_a in training, the true ID at test (§3.6)


def supcon_loss(z, labels, temperature=OS_SCL_SUPCON_TEMPERATURE, base_temperature=OS_SCL_SUPCON_BASE_TEMPERATURE):
    """Supervised contrastive loss of OS-SCL's code, one view, contrast mode 'all' (os_scl.md §4.1): S = z·zᵀ/τ,
    log p_ij = S_ij − log Σ_{a≠i} exp S_ia, ℓ_i = −mean of log p_ip over the positives p ≠ i (0 without positives),
    loss = (τ/τ_b) · mean of ℓ_i over all B anchors."""
    self_mask = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    sim = z @ z.T / temperature
    log_prob = sim - torch.logsumexp(sim.masked_fill(self_mask, float("-inf")), dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = positives.sum(dim=1).clamp_min(1)  # |P(i)| = 0 → 1: the sum is 0, so ℓ_i = 0
    mean_log_prob_pos = torch.where(positives, log_prob, 0.0).sum(dim=1) / n_pos
    return -(temperature / base_temperature) * mean_log_prob_pos.mean()


def os_scl_loss(logits, z, y_a, y_b, lam):
    """OS-SCL total loss (os_scl.md §4.3): SupCon(z, y_a) + λ·CE(logits, y_a) + (1 − λ)·CE(logits, y_b), where the
    logits carry the margin at y_a (Noisy-ArcMix, §4.2)."""
    namix = lam * F.cross_entropy(logits, y_a) + (1.0 - lam) * F.cross_entropy(logits, y_b)
    return supcon_loss(z, y_a) + namix


class WeightEma:
    """OS-SCL's WeightEMA (os_scl.md §5): copies `ema`'s state into `online` once; each step then sets, for every
    float32 state entry (parameters and buffers, BN running stats included; int64 counters skipped),
    v_ema ← 0.9999·v_ema + 0.0001·v_online, then v_online ← v_online·(1 − 2e-6)."""

    def __init__(self, online, ema):
        online.load_state_dict(ema.state_dict())
        online_state, ema_state = online.state_dict(), ema.state_dict()  # share storage with the modules
        self.pairs = [(v, ema_state[k]) for k, v in online_state.items() if v.dtype == torch.float32]

    @torch.no_grad()
    def step(self):
        for v, v_ema in self.pairs:
            v_ema.mul_(OS_SCL_EMA_DECAY).add_(v, alpha=1.0 - OS_SCL_EMA_DECAY)
            v.mul_(1.0 - OS_SCL_EMA_WEIGHT_DECAY)


def n_params(*modules):
    return sum(p.numel() for m in modules for p in m.parameters())


def check_params():
    """Builds every network once and asserts the parameter counts of the specs / shared/anchors.md."""
    asdnet = AsdNet()
    arc = ArcFace(N_CLASSES, EMBEDDING_DIM, ASDNET_ARC_SCALE, ASDNET_ARC_MARGIN)
    mfn = MobileFaceNet(1)  # no fc_out: the 869 760 of anchors.md is the 1-ch trunk (stgram_mfn.md §8.1)
    stgram = StgramMfn()
    neri = NeriAttention()
    tfstgram = OsScl(fusion=True)
    logmel_scl = OsScl(fusion=False)
    counts = {
        "asdnet": (n_params(asdnet), PARAMS_ASDNET),
        "asdnet+arcface": (n_params(asdnet, arc), PARAMS_ASDNET_WITH_ARCFACE),
        "mfn_b_1ch": (n_params(mfn), PARAMS_MFN_B_1CH),
        "tgramnet": (n_params(stgram.tgramnet), PARAMS_TGRAMNET),
        "stgram_mfn_b": (n_params(stgram), PARAMS_STGRAM_MFN_B),
        "logmel": (n_params(LogMel()), 0),
        "neri_wavegram": (n_params(neri.wavegram), PARAMS_NERI_WAVEGRAM),
        "neri_heatmap": (n_params(neri.heatmap), PARAMS_NERI_HEATMAP),
        "neri_mfn_b_2ch+fc_out": (n_params(neri.classifier), PARAMS_NERI_MFN_B_2CH),
        "neri_logmel": (n_params(neri.transform_tf), 0),
        # decisions.md §9: everything trained, ArcFace W included, the unused fc_out excluded
        "neri_attention": (n_params(neri) - n_params(neri.classifier.fc_out), PARAMS_NERI_ATTENTION),
        "neri_attention+fc_out": (n_params(neri), PARAMS_NERI_ATTENTION_WITH_FC_OUT),  # the paper's 884 k
        "tfgramnet": (n_params(tfstgram.TFgramNet), PARAMS_TFGRAMNET),
        "fph": (n_params(tfstgram.head), PARAMS_FPH),
        "os_scl_mfn_b_3ch+fc_out": (n_params(tfstgram.mobilefacenet), PARAMS_OS_SCL_MFN_B_3CH),
        "os_scl_logmel_frontend": (n_params(os_scl_logmel()), 0),
        # os_scl.md §7: the functional model (ArcFace W included, the dead fc_out excluded), then with fc_out
        "os_scl_tfstgram": (n_params(tfstgram) - n_params(tfstgram.mobilefacenet.fc_out), PARAMS_OS_SCL_TFSTGRAM),
        "os_scl_tfstgram+fc_out": (n_params(tfstgram), PARAMS_OS_SCL_TFSTGRAM_WITH_FC_OUT),  # the paper's 1.38 M
        "os_scl_logmel": (n_params(logmel_scl) - n_params(logmel_scl.mobilefacenet.fc_out), PARAMS_OS_SCL_LOGMEL),
        "os_scl_logmel+fc_out": (n_params(logmel_scl), PARAMS_OS_SCL_LOGMEL_WITH_FC_OUT),
        "se_resnet18": (n_params(SeResNet18()), PARAMS_SE_RESNET18),
    }
    for name, (got, want) in counts.items():
        assert got == want, f"{name}: {got} parameters, spec says {want}"
    return {name: got for name, (got, _) in counts.items()}


# --- Workloads --------------------------------------------------------------------------------------------------
def asdnet_workloads(runner, gen):
    net = AsdNet()
    arc = ArcFace(N_CLASSES, EMBEDDING_DIM, ASDNET_ARC_SCALE, ASDNET_ARC_MARGIN)
    params = n_params(net)
    # Spectra uniform in [0, 1) (benches/models.rs `Distribution::Uniform(0.0, 1.0)`).
    inputs = {b: torch.rand(b, 1, SPECTRUM_BINS, generator=gen) for b in (ASDNET_BATCH, 1)}
    net.eval()
    for batch, x in inputs.items():
        runner.run(
            f"asdnet_forward_eval_b{batch}",
            inference(lambda x=x: net(x)),
            params=params,
            note="[B, 1, 16001] → [B, 128]",
        )

    # One training step, no mixup: ArcFace(s 30, m 0.5) cross-entropy, Adam over the network and the class weights.
    x = inputs[ASDNET_BATCH]
    labels = torch.arange(ASDNET_BATCH) % N_CLASSES  # benches/models.rs `(0..64).map(|i| i % 41)`
    optimiser = torch.optim.Adam(list(net.parameters()) + list(arc.parameters()), lr=ASDNET_LR)

    def step():
        optimiser.zero_grad(set_to_none=True)
        loss = F.cross_entropy(arc(net(x), labels), labels)
        loss.backward()
        optimiser.step()
        return loss.item()

    net.train()
    runner.run(
        f"asdnet_train_step_b{ASDNET_BATCH}", step, params=n_params(net, arc), note="ArcFace s30 m0.5, Adam, no mixup"
    )


def mfn_workloads(runner, gen):
    mfn = MobileFaceNet(1).eval()
    params = n_params(mfn)
    for batch in (MFN_BATCH, 1):
        # log-Mel-like values uniform in [−80, 20) dB (benches/models.rs `Distribution::Uniform(-80.0, 20.0)`).
        image = torch.rand(batch, 1, N_MELS, N_FRAMES, generator=gen) * 100.0 - 80.0
        runner.run(
            f"mfn_b_1ch_forward_eval_b{batch}",
            inference(lambda image=image: mfn(image)),
            params=params,
            note="[B, 1, 128, 313]",
        )


def stgram_workloads(runner):
    model = StgramMfn()
    logmel = LogMel()
    params = n_params(model)
    # Sine waveforms sin(0.001·n·(c + 1))·0.1 per clip c (benches/models.rs `waves`).
    n = torch.arange(CLIP_SAMPLES, dtype=torch.float64)
    waves = torch.stack([torch.sin(0.001 * n * (c + 1)) * 0.1 for c in range(MFN_BATCH)]).to(torch.float32)
    labels = torch.arange(MFN_BATCH)  # benches/models.rs `labels16 = (0..16)`
    optimiser = torch.optim.AdamW(model.parameters(), lr=STGRAM_LR, weight_decay=ADAMW_WEIGHT_DECAY)

    def step():
        # From waveforms: the log-Mel is a constant input computed on the CPU inside the step (stgram_mfn.md §3).
        optimiser.zero_grad(set_to_none=True)
        with torch.no_grad():
            mel = logmel(waves)
        logits, _ = model(waves.unsqueeze(1), mel, labels)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        optimiser.step()
        return loss.item()

    def forward_eval():
        # Scoring path: log-Mel, model, margin logits at the clip's class, −log softmax (stgram_mfn.md §7.1).
        logits, _ = model(waves.unsqueeze(1), logmel(waves), labels)
        return -F.log_softmax(logits, dim=1).gather(1, labels[:, None])

    model.train()
    runner.run(
        f"stgram_mfn_b_train_step_b{MFN_BATCH}", step, params=params, note="from waveforms, ArcFace s30 m0.7, AdamW"
    )
    model.eval()
    runner.run(f"stgram_mfn_b_forward_eval_b{MFN_BATCH}", inference(forward_eval), params=params, note="from waveforms")
    runner.run(
        f"logmel_torch_b{MFN_BATCH}", inference(lambda: logmel(waves)), params=0, note="[16, 160000] → [16, 128, 313]"
    )
    tgram = model.tgramnet
    runner.run(
        f"tgramnet_forward_eval_b{MFN_BATCH}",
        inference(lambda: tgram(waves.unsqueeze(1))),
        params=n_params(tgram),
        note="[16, 1, 160000] → [16, 128, 313]",
    )


def mixup_draws(seed, alpha, batch):
    """A function giving one mixup draw per call, repeatably: λ ~ Beta(alpha, alpha) from a seeded stdlib generator
    (torch's Beta sampler takes no generator), then a permutation of the batch from a seeded torch generator."""
    lam_rng = random.Random(seed)
    perm_gen = torch.Generator().manual_seed(seed)
    return lambda: (lam_rng.betavariate(alpha, alpha), torch.randperm(batch, generator=perm_gen))


def neri_workloads(runner):
    model = NeriAttention()
    params = n_params(model)  # 884 376 with the unused fc_out, as the STgram-MFN rows count theirs
    # Sine waveforms sin(0.001·n·(c + 1))·0.1 per clip c (benches/models.rs `sines(64)`), labels c % 41.
    n = torch.arange(CLIP_SAMPLES, dtype=torch.float64)
    waves = torch.stack([torch.sin(0.001 * n * (c + 1)) * 0.1 for c in range(NERI_BATCH)]).to(torch.float32)
    labels = torch.arange(NERI_BATCH) % N_CLASSES  # benches/models.rs `(0..64).map(|i| i % 41)`
    optimiser = torch.optim.AdamW(model.parameters(), lr=NERI_LR, weight_decay=ADAMW_WEIGHT_DECAY)
    draw = mixup_draws(NERI_SEED, NERI_MIXUP_ALPHA, NERI_BATCH)

    def step():
        # Noisy-ArcMix (losses_arcmix.md §3, §6): mix the raw waveforms, log-Mel of the mix (a constant input, no
        # grad), margin logits once at the original labels, λ·CE(z, y) + (1 − λ)·CE(z, y[π]).
        optimiser.zero_grad(set_to_none=True)
        lam, perm = draw()
        mixed = lam * waves + (1.0 - lam) * waves[perm]
        with torch.no_grad():
            mel = model.logmel(mixed)
        logits, _ = model(mixed, mel, labels)
        loss = lam * F.cross_entropy(logits, labels) + (1.0 - lam) * F.cross_entropy(logits, labels[perm])
        loss.backward()
        optimiser.step()
        return loss.item()

    eval_waves, eval_labels = waves[:MFN_BATCH], labels[:MFN_BATCH]

    def forward_eval():
        # log-Mel, Wavegram, attention, MobileFaceNet, margin logits at the clip's class (neri_attention.md §2, §11).
        logits, _ = model(eval_waves, model.logmel(eval_waves), eval_labels)
        return logits

    model.train()
    runner.run(
        f"neri_attention_train_step_b{NERI_BATCH}",
        step,
        params=params,
        note="from waveforms, Noisy-ArcMix Beta(0.2, 0.2), ArcFace s40 m0.7, AdamW; params incl. unused fc_out",
    )
    model.eval()
    runner.run(
        f"neri_attention_forward_eval_b{MFN_BATCH}",
        inference(forward_eval),
        params=params,
        note="from waveforms, log-Mel → logits",
    )


def os_scl_workloads(runner):
    model = OsScl(fusion=True)  # TFSTgram(OS-SCL)
    params = n_params(model)  # 1 377 535 with the unused fc_out, as the STgram-MFN rows count theirs
    logmel = os_scl_logmel()
    # Sine waveforms sin(0.001·n·(c + 1))·0.1 per clip c (benches/models.rs `sines(64)`), labels c % 41.
    n = torch.arange(CLIP_SAMPLES, dtype=torch.float64)
    waves = torch.stack([torch.sin(0.001 * n * (c + 1)) * 0.1 for c in range(OS_SCL_BATCH)]).to(torch.float32)
    waves = waves.unsqueeze(1)  # [B, 1, 160000], the reference's input layout (os_scl.md §2.1)
    labels = torch.arange(OS_SCL_BATCH) % N_CLASSES  # benches/models.rs `(0..64).map(|i| i % 41)`
    with torch.no_grad():
        mels = logmel(waves)  # [B, 1, 128, 313]: once per clip, outside the step, as the reference's data loader
    # Online model and EMA copy start from the same weights (os_scl.md §5); the EMA model is never trained.
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    ema_step = WeightEma(model, ema)
    optimiser = torch.optim.AdamW(model.parameters(), lr=OS_SCL_LR, weight_decay=ADAMW_WEIGHT_DECAY)
    draw = mixup_draws(OS_SCL_SEED, OS_SCL_MIXUP_ALPHA, OS_SCL_BATCH)

    def step():
        # Mixup of the waveforms and of the precomputed log-Mels (dB domain) with one λ and π (os_scl.md §4), margin
        # logits at y_a, SupCon(z, y_a) + Noisy-ArcMix (§4.3), AdamW step, then the EMA step (§5).
        optimiser.zero_grad(set_to_none=True)
        lam, perm = draw()
        mixed_waves = lam * waves + (1.0 - lam) * waves[perm]
        mixed_mels = lam * mels + (1.0 - lam) * mels[perm]
        logits, z = model(mixed_waves, mixed_mels, labels)
        loss = os_scl_loss(logits, z, labels, labels[perm], lam)
        loss.backward()
        optimiser.step()
        ema_step.step()
        return loss.item()

    eval_waves, eval_mels, eval_labels = waves[:MFN_BATCH], mels[:MFN_BATCH], labels[:MFN_BATCH]

    def forward_eval():
        # Tgram, TFgram, 3-ch MobileFaceNet, FPH, margin logits at the clip's class (os_scl.md §3, §6); the clips'
        # log-Mels are inputs, computed per clip beforehand as by the reference's data loader.
        logits, _ = model(eval_waves, eval_mels, eval_labels)
        return logits

    model.train()
    runner.run(
        f"os_scl_tfstgram_train_step_b{OS_SCL_BATCH}",
        step,
        params=params,
        note="from waveforms + their log-Mels, mixup Beta(0.5, 0.5), SupCon τ 0.02 + Noisy-ArcMix, ArcFace s30 m0.4, "
        "AdamW, EMA; params incl. unused fc_out",
    )
    model.eval()
    runner.run(
        f"os_scl_tfstgram_forward_eval_b{MFN_BATCH}",
        inference(forward_eval),
        params=params,
        note="from waveforms + their log-Mels → logits",
    )


# --- SE-ResNet18 with AdaCos (the DCASE 2025 first-shot system, firstshot2025.md §7–8) --------------------------
SE_RESNET_WIDTHS = (64, 128, 256, 512)  # firstshot2025.md §7
SE_RESNET_EMBEDDING = 256  # firstshot2025.md §7
SE_REDUCTION = 16  # firstshot2025.md §7
SE_RESNET_BATCH = 64  # firstshot2025.md §9.1
PARAMS_SE_RESNET18 = 11_389_376  # firstshot2025.md §7
SE_RESNET_LR = 1e-3  # firstshot2025.md §9.1
SE_RESNET_ADAM_EPS = 1e-7  # firstshot2025.md §9.1 (Keras's default)
ADACOS_COS_CLIP = 1e-7  # firstshot2025.md §8.1


class SqueezeExcite(nn.Module):
    """g = sigmoid(fc2(relu(fc1(mean over F, T)))), output x·g (firstshot2025.md §7)."""

    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Linear(c, c // SE_REDUCTION, bias=False)
        self.fc2 = nn.Linear(c // SE_REDUCTION, c, bias=False)

    def forward(self, x):
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * g[:, :, None, None]


class SeBasicBlock(nn.Module):
    """3×3 conv (stride s) BN ReLU, 3×3 conv BN, SE gate, plus the identity or a 1×1 conv + BN shortcut, ReLU."""

    def __init__(self, c_in, c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.se = SqueezeExcite(c)
        self.downsample = None
        if stride != 1 or c_in != c:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c, 1, stride=stride, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        y = self.se(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class SeResNet18(nn.Module):
    """7×7 stem (stride 2) BN ReLU, 3×3 max-pool (stride 2), four stages of two SE basic blocks, global average pool,
    BatchNorm1d, Linear(512 → 256, no bias) (firstshot2025.md §7; 11 389 376 parameters)."""

    def __init__(self):
        super().__init__()
        w1, w2, w3, w4 = SE_RESNET_WIDTHS
        self.conv1 = nn.Conv2d(1, w1, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w1)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        stage = lambda c_in, c, s: nn.Sequential(SeBasicBlock(c_in, c, s), SeBasicBlock(c, c, 1))  # noqa: E731
        self.layers = nn.Sequential(stage(w1, w1, 1), stage(w1, w2, 2), stage(w2, w3, 2), stage(w3, w4, 2))
        self.head_bn = nn.BatchNorm1d(w4)
        self.head = nn.Linear(w4, SE_RESNET_EMBEDDING, bias=False)

    def forward(self, x):
        x = self.layers(self.maxpool(F.relu(self.bn1(self.conv1(x)))))
        return self.head(self.head_bn(x.mean(dim=(2, 3))))


def adacos_scale(scale, cos, targets):
    """AdaCos's dynamic scale (firstshot2025.md §8.1): ln B_avg over the non-target entries, the median target angle."""
    batch = cos.shape[0]
    others = (scale * cos)[targets == 0]
    ln_b_avg = torch.logsumexp(others, dim=0) - math.log(batch)
    theta = (targets * torch.acos(cos)).sum(dim=1)
    sorted_theta = theta.sort().values
    median = 0.5 * (sorted_theta[(batch - 1) // 2] + sorted_theta[batch // 2])
    return (ln_b_avg / torch.cos(torch.clamp(median, max=math.pi / 4))).item()


def se_resnet_workloads(runner, gen):
    model = SeResNet18()
    centres = nn.Parameter(torch.empty(SE_RESNET_EMBEDDING, N_CLASSES))
    nn.init.xavier_uniform_(centres)
    params = n_params(model)
    # The images of benches/models.rs `se_resnet18`: ((i·7 + m·13 + t) mod 101) − 80 dB.
    i, m, t = torch.meshgrid(torch.arange(SE_RESNET_BATCH), torch.arange(N_MELS), torch.arange(313), indexing="ij")
    images = (((i * 7 + m * 13 + t) % 101).to(torch.float32) - 80.0).unsqueeze(1)
    labels = torch.arange(SE_RESNET_BATCH) % N_CLASSES
    targets = F.one_hot(labels, N_CLASSES).to(torch.float32)
    optimiser = torch.optim.Adam([*model.parameters(), centres], lr=SE_RESNET_LR, eps=SE_RESNET_ADAM_EPS)
    state = {"scale": math.sqrt(2.0) * math.log(N_CLASSES - 1)}

    def step():
        optimiser.zero_grad(set_to_none=True)
        e = model(images)
        cos = torch.clamp(F.normalize(e, dim=1) @ F.normalize(centres, dim=0), -1 + ADACOS_COS_CLIP, 1 - ADACOS_COS_CLIP)
        with torch.no_grad():
            state["scale"] = adacos_scale(state["scale"], cos, targets)
        loss = -(targets * F.log_softmax(state["scale"] * cos, dim=1)).sum(dim=1).mean()
        loss.backward()
        optimiser.step()
        return loss.item()

    eval_images = torch.rand(MFN_BATCH, 1, N_MELS, 313, generator=gen) * 100.0 - 80.0

    model.train()
    runner.run(
        f"se_resnet18_train_step_b{SE_RESNET_BATCH}",
        step,
        params=params,
        note="log-Mel images [64, 1, 128, 313], AdaCos with the dynamic scale (41 classes), Adam 1e-3 ε 1e-7",
    )
    model.eval()
    runner.run(
        f"se_resnet18_forward_eval_b{MFN_BATCH}",
        inference(lambda: model(eval_images)),
        params=params,
        note="log-Mel images [16, 1, 128, 313] → 256-d embeddings",
    )


# --- Environment record ---------------------------------------------------------------------------------------
def environment():
    """The JSON environment: threads (ours and torch's), oneDNN, versions, the machine, torch's parallel info."""
    return {
        "threads": THREADS,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "versions": common.versions(("torch", "torchaudio")),
        **common.host_record(),
        "torch_parallel_info": torch.__config__.parallel_info(),
    }


def main():
    parser = arg_parser(__doc__)
    parser.add_argument("--check-only", action="store_true", help="assert the parameter counts and exit")
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    try:
        torch.set_num_interop_threads(THREADS)  # only allowed before any inter-op work has started
    except RuntimeError:
        pass
    torch.manual_seed(0)  # fixed weights; only the distributions matter for timing (stgram_mfn.md §4.5)
    gen = torch.Generator().manual_seed(0)

    counts = check_params()
    print("# parameter counts match the specs: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), file=sys.stderr)
    if args.check_only:
        return 0

    runner = Runner(args)
    asdnet_workloads(runner, gen)
    mfn_workloads(runner, gen)
    stgram_workloads(runner)
    neri_workloads(runner)
    os_scl_workloads(runner)
    se_resnet_workloads(runner, gen)

    if args.json:
        common.write_json(
            args.json,
            "models.py",
            "shared/anchors.md, Models",
            args,
            environment(),
            param_counts=counts,
            results=runner.results,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
