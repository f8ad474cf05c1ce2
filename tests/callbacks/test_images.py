"""Sample pictures: grids enlarged to a size people can see, class names over the columns."""

import numpy as np

from tfgen.callbacks import images


def test_grids_are_enlarged_with_sharp_pixels():
    x = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    grid = images.image_grid(x)
    assert max(grid.shape[:2]) == 8 * 29 + 1  # 233 px: too small to look at
    big = images.render_samples(x)
    assert max(big.shape[:2]) >= 512 and big.shape[0] % grid.shape[0] == 0
    scale = big.shape[0] // grid.shape[0]
    np.testing.assert_array_equal(big[::scale, ::scale], grid)  # nearest neighbour, no blur
    assert images.enlarge(np.zeros((600, 10, 3), np.uint8)).shape == (600, 10, 3)


def test_class_names_head_their_columns():
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
             "Bag", "Ankle boot"]
    x = -np.ones((30, 28, 28, 1), np.float32)  # black images
    picture = images.render_samples(x, (-1.0, 1.0), columns=10, column_names=names)
    grid = images.enlarge(images.image_grid(x, columns=10))
    header = picture[: picture.shape[0] - grid.shape[0]]
    assert picture.shape[-1] == 3 and header.shape[0] >= 12
    np.testing.assert_array_equal(picture[header.shape[0]:, :, 0], grid[..., 0])
    # Every column's header cell holds dark (text) pixels on white.
    cell = picture.shape[1] / 10
    for i in range(10):
        part = header[:, int(i * cell) + 1:int((i + 1) * cell) - 1]
        assert (part < 128).any() and (part == 255).mean() > 0.5, names[i]
