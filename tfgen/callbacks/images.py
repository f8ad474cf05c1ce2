"""Pictures of samples: image grids and 2-D scatter plots, as uint8 arrays and PNG files."""

from __future__ import annotations

import io
import math
import os

import numpy as np


def image_grid(images: np.ndarray, value_range=(-1.0, 1.0), columns: int | None = None,
               pad: int = 1) -> np.ndarray:
    """Tile images [N, H, W, C] into one uint8 image [rows·(H+pad)+pad, cols·(W+pad)+pad, C]."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(f"image_grid needs images [N, H, W, C]; got shape {images.shape}")
    low, high = value_range
    images = np.clip((images - low) / (high - low), 0.0, 1.0)
    n, h, w, c = images.shape
    columns = columns or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / columns))
    grid = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad, c), np.float32)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top:top + h, left:left + w] = image
    return (grid * 255.0 + 0.5).astype(np.uint8)


def scatter_plot(points: np.ndarray, modes: np.ndarray | None = None, title: str = "",
                 size: int = 5) -> np.ndarray:
    """RGB uint8 scatter plot of 2-D `points` (blue) over the true `modes` (red crosses)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(size, size), dpi=80)
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue", label="generated")
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], s=40, marker="x", color="tab:red", label="true modes")
        span = np.abs(modes).max() * 1.4 + 0.2
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    buffer.seek(0)
    from PIL import Image

    return np.asarray(Image.open(buffer).convert("RGB"))


def save_png(image: np.ndarray, path: str | os.PathLike, scale: int = 1) -> None:
    """Write a uint8 image [H, W, C] (C = 1 or 3) as PNG, enlarged `scale` times (nearest)."""
    from PIL import Image

    image = np.asarray(image, np.uint8)
    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    if image.shape[-1] == 1:
        image = image[..., 0]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp.png"
    Image.fromarray(image).save(tmp)
    os.replace(tmp, path)


def render_samples(samples: np.ndarray, value_range=None, modes=None, columns=None,
                   title: str = "") -> np.ndarray:
    """A picture of samples: a grid for images, a scatter plot for 2-D points."""
    samples = np.asarray(samples)
    if samples.ndim == 4:
        return image_grid(samples, value_range or (-1.0, 1.0), columns=columns)
    if samples.ndim == 2 and samples.shape[1] == 2:
        return scatter_plot(samples, modes, title=title)
    raise ValueError(f"cannot draw samples of shape {samples.shape}")
