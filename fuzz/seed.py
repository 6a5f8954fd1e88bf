#!/usr/bin/env python3
"""Writes the starting corpus of every fuzz target into fuzz/corpus/<target>/ (not committed): small valid inputs
from the shared golden files and the checkpoint fixtures, cut to a few kB where the format allows, plus hand-made
.npy files, score CSVs and configurations. Standard library only. Usage: python3 fuzz/seed.py <shared>"""
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "shared")
corpus = os.path.join(here, "corpus")


def put(target, name, data):
    folder = os.path.join(corpus, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def wav(tag, channels, rate, bits, data, extra=b""):
    block = channels * ((bits + 7) // 8)
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits) + extra
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


# decode: the first byte picks the extension (0 wav, 1 flac, 2 ogg, 3 mp3).
audio = os.path.join(shared, "golden", "audio")
ramp = b"".join(struct.pack("<h", (i * 97) % 20000 - 10000) for i in range(400))
put("decode", "pcm16.wav", b"\x00" + wav(1, 1, 16000, 16, ramp))
put("decode", "pcm16_stereo_44k1.wav", b"\x00" + wav(1, 2, 44100, 16, ramp))
put("decode", "u8.wav", b"\x00" + wav(1, 1, 8000, 8, bytes(range(256))))
put("decode", "float.wav", b"\x00" + wav(3, 1, 16000, 32, struct.pack("<100f", *[i / 100 for i in range(100)]), b"\x00\x00"))
for name, pick, keep in [
    ("pcm24_mono_16k.wav", 0, 3000),
    ("flac_mono_16k.flac", 1, 46833),
    ("vorbis_mono_22k05.ogg", 2, 12094),
    ("mp3_mono_44k1.mp3", 3, 5000),
]:
    with open(os.path.join(audio, name), "rb") as f:
        put("decode", name, bytes([pick]) + f.read()[:keep])
with open(os.path.join(audio, "bad", "ima_adpcm_16k.wav"), "rb") as f:
    put("decode", "ima_adpcm.wav", b"\x00" + f.read()[:3000])


# npy: format 1.0 files as NumPy writes them.
def npy(descr, shape, data):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


put("npy", "f32_3x2.npy", npy("<f4", "(3, 2)", struct.pack("<6f", 1, 2, 3, 4, 5, 6)))
put("npy", "f64_2x2.npy", npy("<f8", "(2, 2)", struct.pack("<4d", 1, 2, 3, 4)))
put("npy", "i64_3.npy", npy("<i8", "(3,)", struct.pack("<3q", 0, 1, 1)))
put("npy", "i32_4.npy", npy("<i4", "(4,)", struct.pack("<4i", 0, 0, 1, 2)))

# torch_checkpoint: a safetensors file with the head's one tensor (`ArcFace.weight`, 4 classes × 8), which loads,
# and the checkpoint fixtures (torch.save zip archives, protocols 2 and 4, a legacy file), which the reader parses
# but whose tensors are not the head's.
header = b'{"ArcFace.weight":{"dtype":"F32","shape":[4,8],"data_offsets":[0,128]}}'
put("torch_checkpoint", "head.safetensors", struct.pack("<Q", len(header)) + header + struct.pack("<32f", *range(32)))
fixtures = os.path.join(here, "..", "crates", "asd-models", "tests", "fixtures", "torch_pt")
for name in ["tensors.pt", "proto4.pt", "checkpoint.pt", "checkpoint4.pt", "legacy.pt"]:
    with open(os.path.join(fixtures, name), "rb") as f:
        put("torch_checkpoint", name, f.read())

# score_csv
put("score_csv", "scores.csv", b"normal_id_00_00000000.wav,0.5\nanomaly_id_00_00000001.wav,1.25e-3\n")
put("score_csv", "decisions.csv", b"a.wav,1\nb.wav,0\n")

# config: partial and full configurations of each system.
for system, seconds in [("asdnet", 4.0), ("specmfn", 4.0), ("logmel-mfn", 10.0), ("stgram-mfn", 10.0), ("raw-logmel", 4.0)]:
    put("config", f"{system}.toml", f'system = "{system}"\nclip_seconds = {seconds}\n[train]\nepochs = 2\n'.encode())
put(
    "config",
    "scoring.toml",
    b'system = "stgram-mfn"\n[[scoring.scorers]]\nkind = "knn"\nk = 2\n[[scoring.scorers]]\nkind = "prob"\n'
    b'[scoring.scorers.input]\ntype = "logits"\n[model]\nn_classes = 12\n',
)
# scorer_file: the committed seeds (fitted scorers saved as asd writes them).
seeds = os.path.join(here, "regressions", "scorer_file")
for name in sorted(os.listdir(seeds)):
    with open(os.path.join(seeds, name), "rb") as f:
        put("scorer_file", name, f.read())

print("corpus in", corpus)
