"""Real image files for media tests, made with Pillow when a test needs them (nothing binary is
committed): small ones, huge-in-pixels-but-tiny-on-disk ones (1-bit, blank), and large-in-bytes
ones (noise, which no format compresses)."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image


def image(path: Path, size: tuple[int, int] = (4, 3), fmt: str | None = None) -> Path:
    """An RGB image of `size`, in the format its suffix names (or `fmt`)."""
    Image.new("RGB", size, (200, 30, 30)).save(path, format=fmt)
    return path


def blank(path: Path, size: tuple[int, int]) -> Path:
    """A 1-bit PNG: many pixels, few bytes (8000x4200 is a few kilobytes)."""
    Image.new("1", size).save(path, format="PNG")
    return path


def noise(path: Path, at_least: int) -> Path:
    """A PNG of random pixels of at least `at_least` bytes: what a big photo weighs."""
    side = int((at_least / 3) ** 0.5) + 8
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(path, format="PNG")
    assert path.stat().st_size >= at_least
    return path
