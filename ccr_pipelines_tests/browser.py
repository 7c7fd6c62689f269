"""Debian's headless Chromium for the tests that look at a page as a person would (UI, reports)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

CHROMIUM = next(
    (p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None
)
# Without the background-networking flags Chromium tries to reach Google's hosts, which this
# network refuses; without a virtual-time budget the screenshot is taken before the page renders.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def screenshot(url: str, png: Path, profile_dir: Path, *, size: str = "1400,900", virtual_time_ms: int = 5000) -> str:
    """Render *url*, write a PNG screenshot, return the rendered DOM as text."""
    out = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile_dir}",
            f"--window-size={size}",
            f"--virtual-time-budget={virtual_time_ms}",
            "--dump-dom",
            f"--screenshot={png}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert png.exists(), out.stderr[-2000:]
    return out.stdout


def png_stats(path: Path) -> tuple[int, float]:
    """(distinct colours, share of non-white pixels) of an 8-bit RGB/RGBA PNG, without PIL."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if ctype == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6)
            bpp = 3 if color == 2 else 4
        elif ctype == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    colours, nonwhite, total = set(), 0, 0
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 4 == 0:  # sample every 4th row
            for x in range(0, width, 4):
                px = bytes(line[x * bpp : x * bpp + 3])
                colours.add(px)
                total += 1
                nonwhite += px != b"\xff\xff\xff"
        prev = line
    return len(colours), nonwhite / max(total, 1)
