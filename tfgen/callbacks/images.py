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
    """RGB uint8 scatter plot of 2-D `points` (blue dots) over the true `modes` (red rings,
    drawn underneath so they never hide a sample). Fonts and markers are sized to stay legible
    when TensorBoard shrinks the picture to its card width (about 400 px)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], s=260, facecolors="none", edgecolors="tab:red",
                   linewidths=2.0, zorder=1, label="true modes")
        span = np.abs(modes).max() * 1.4 + 0.2
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
    ax.scatter(points[:, 0], points[:, 1], s=5, alpha=0.5, color="tab:blue", linewidths=0,
               zorder=2, label="generated")
    ax.set_aspect("equal")
    ax.tick_params(labelsize=13)
    legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=2, fontsize=14,
                       frameon=False)
    for handle in legend.legend_handles:  # legend markers of one readable size
        handle.set_sizes([90])
        handle.set_alpha(1.0)
    if title:
        ax.set_title(title, fontsize=16)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    buffer.seek(0)
    from PIL import Image

    return np.asarray(Image.open(buffer).convert("RGB"))


def line_plot(x, series: dict, xlabel: str, title: str = "", size: int = 5,
              reference: dict | None = None, reference_label: str = "") -> np.ndarray:
    """RGB uint8 picture of each series (name -> values over `x`) in its own panel, one row:
    e.g. quality and diversity metrics against the truncation ψ; `reference` (name -> value)
    draws a dashed level in the panel (e.g. without truncation)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(series), figsize=(size * len(series), size * 0.8), dpi=100,
                             squeeze=False)
    for ax, (name, values) in zip(axes[0], series.items(), strict=True):
        ax.plot(x, values, marker="o", color="tab:blue")
        if reference and name in reference:
            ax.axhline(reference[name], color="tab:gray", linestyle="--", label=reference_label)
            ax.legend(fontsize=11, frameon=False)
        ax.set_xlabel(xlabel, fontsize=13)
        ax.set_title(name, fontsize=14)
        ax.tick_params(labelsize=12)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=15, y=1.04)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    buffer.seek(0)
    from PIL import Image

    return np.asarray(Image.open(buffer).convert("RGB"))


def save_png(image: np.ndarray, path: str | os.PathLike) -> None:
    """Write a uint8 image [H, W, C] (C = 1 or 3) as PNG (atomically: a temporary file, then a
    rename); pictures are enlarged by `enlarge`/`render_samples`, not here."""
    from PIL import Image

    from tfgen import fileio

    image = np.asarray(image, np.uint8)
    if image.shape[-1] == 1:
        image = image[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    fileio.write_bytes(fileio.absolute(path), buffer.getvalue())


def enlarge(picture: np.ndarray, min_size: int = 512) -> np.ndarray:
    """`picture` [H, W, C] enlarged by the smallest whole factor (nearest neighbour, so pixels
    stay sharp) that makes its longer side at least `min_size`."""
    scale = max(1, math.ceil(min_size / max(picture.shape[:2])))
    return picture.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else picture


def label_columns(picture: np.ndarray, names) -> np.ndarray:
    """`picture` (a grid with one column per name, already enlarged) under a white header strip
    with each column's name centred above it (RGB)."""
    from PIL import Image, ImageDraw, ImageFont

    if picture.shape[-1] == 1:
        picture = np.repeat(picture, 3, axis=-1)
    width = picture.shape[1]
    cell = width / len(names)
    size = max(9, min(16, int(cell / 6)))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        font = ImageFont.load_default()
    header = Image.new("RGB", (width, size + 8), "white")
    draw = ImageDraw.Draw(header)
    for i, name in enumerate(names):
        text = str(name)
        while len(text) > 1 and draw.textlength(text, font=font) > cell - 2:
            text = text[:-1]  # too wide for its column: cut
        left = i * cell + (cell - draw.textlength(text, font=font)) / 2
        draw.text((left, 3), text, fill="black", font=font)
    return np.concatenate([np.asarray(header), picture], axis=0)


def render_samples(samples: np.ndarray, value_range=None, modes=None, columns=None,
                   title: str = "", column_names=None, min_size: int = 512) -> np.ndarray:
    """A picture of samples: a grid for images (enlarged so its longer side is at least
    `min_size`, with `column_names` above the columns when given, e.g. a conditional model's
    classes), a scatter plot for 2-D points."""
    samples = np.asarray(samples)
    if samples.ndim == 4:
        picture = enlarge(image_grid(samples, value_range or (-1.0, 1.0), columns=columns),
                          min_size)
        if column_names is not None:
            picture = label_columns(picture, column_names)
        return picture
    if samples.ndim == 2 and samples.shape[1] == 2:
        return scatter_plot(samples, modes, title=title)
    raise ValueError(f"cannot draw samples of shape {samples.shape}")
