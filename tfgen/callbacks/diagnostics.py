"""`LatentDiagnostics`: pictures of a latent-variable model's encoder and decoder on a fixed
batch of real data, for `TensorBoardLogger(diagnostics=[...])`."""

from __future__ import annotations

import numpy as np

from tfgen import fileio
from tfgen.callbacks import images as images_lib


class LatentDiagnostics:
    """For a model that encodes and decodes (a `tfgen.VAE`): `reconstructions` (the reference
    inputs above their reconstructions), with a 2-D latent space `latent_manifold` (decodings of
    a grid over [-2, 2]²), else `latent_traversal` (rows: the latent dimensions with the most KL,
    each starting from one reference example's code; columns: that coordinate swept over
    [-2.5, 2.5]); and the histogram
    `kl_per_dimension`.

    With `projector` data, `write_projector` also lays out TensorBoard's embedding projector in
    the log directory: the encoder means of those examples (`embedding`), a sprite of the images
    and a `metadata.tsv` of their labels (and class names), so the Projector tab shows the latent
    space with PCA, t-SNE or UMAP, each point drawn as its image and coloured by class.

    Args:
        reference: a fixed batch (samples, labels or None) of real data.
        value_range: pixel range of the images.
        min_size: pictures are enlarged (nearest neighbour) to at least this many pixels.
        projector: (samples, labels or None) for the projector, e.g. 1,000 held-out examples.
        class_names: names of the labels, for the projector's metadata.
        grid: draws samples that are not images: `grid(samples, columns)` -> uint8 picture (a
            modality's, e.g. piano-rolls one above the other). The reconstructions are then the
            only pictures (no latent manifold or traversal), and the projector has no sprite.
        describe: writes samples as text: `describe(samples)` -> one string each (sentences).
            There are then no pictures: `texts` gives the reference examples beside their
            reconstructions (decoded greedily from the posterior mean, as Bowman et al. show
            them), and the projector labels each point with its sentence.
    """

    def __init__(self, reference, value_range=(0.0, 1.0), min_size: int = 512, projector=None,
                 class_names=None, grid=None, describe=None):
        self.x, self.labels = reference
        self.value_range, self.min_size = value_range, min_size
        self.projector, self.class_names = projector, class_names
        self.grid, self.describe = grid, describe

    def write_projector(self, model, log_dir: str) -> None:
        """The projector files in `log_dir`: `embedding-N.*` (a checkpoint holding the codes),
        `sprite.png`, `metadata.tsv`, `projector_config.pbtxt`."""
        if self.projector is None or not getattr(model, "has_code", True):
            return  # (a model with a latent per frame has no code per example to project)

        import tensorflow as tf
        from tensorboard.plugins import projector

        x, y = self.projector
        codes, _ = model.encode(x, y if model.conditional else None)
        # Through a CheckpointManager: the projector finds the newest checkpoint of the log
        # directory by its `checkpoint` index (a path in the config would not survive moving the
        # run directory).
        checkpoint = tf.train.Checkpoint(embedding=tf.Variable(np.asarray(codes, np.float32)))
        tf.train.CheckpointManager(checkpoint, log_dir, max_to_keep=1,
                                   checkpoint_name="embedding").save()
        config = projector.ProjectorConfig()
        embedding = config.embeddings.add()
        embedding.tensor_name = "embedding/.ATTRIBUTES/VARIABLE_VALUE"
        if self.describe is not None:  # sentences: each point labelled with its text
            with fileio.open(fileio.join(log_dir, "metadata.tsv"), "w") as fh:
                fh.write("\n".join(s.replace("\t", " ") or "(empty)"
                                   for s in self.describe(x)) + "\n")
            embedding.metadata_path = "metadata.tsv"
            projector.visualize_embeddings(log_dir, config)
            return
        if self.grid is None:  # images: each point drawn as its image
            side = int(np.ceil(np.sqrt(len(x))))
            sprite = images_lib.image_grid(x, self.value_range, columns=side, pad=0)
            if sprite.shape[-1] == 1:
                sprite = np.repeat(sprite, 3, axis=-1)
            images_lib.save_png(sprite, fileio.join(log_dir, "sprite.png"))
            embedding.sprite.image_path = "sprite.png"
            embedding.sprite.single_image_dim.extend([int(x.shape[2]), int(x.shape[1])])
        if y is not None:
            rows = [f"{int(label)}\t{self.class_names[int(label)]}" for label in y] \
                if self.class_names else [str(int(label)) for label in y]
            header = "label\tclass\n" if self.class_names else ""
            with fileio.open(fileio.join(log_dir, "metadata.tsv"), "w") as fh:
                fh.write(header + "\n".join(rows) + "\n")
            embedding.metadata_path = "metadata.tsv"
        projector.visualize_embeddings(log_dir, config)

    def _grid(self, images, columns: int) -> np.ndarray:
        if self.grid is not None:
            return self.grid(images, columns)
        return images_lib.enlarge(images_lib.image_grid(images, self.value_range, columns=columns),
                                  self.min_size)

    def texts(self, model) -> dict[str, str]:
        """Markdown by name: with `describe`, a table of the reference examples and their
        reconstructions."""
        if self.describe is None:
            return {}
        codes, _ = model.encode(self.x, self.labels)
        rows = zip(self.describe(self.x), self.describe(model.decode(codes, self.labels)))
        return {"reconstructions": "| input | reconstruction |\n| --- | --- |\n" + "\n".join(
            f"| {a.replace('|', '/')} | {b.replace('|', '/')} |" for a, b in rows)}

    def pictures(self, model) -> dict[str, np.ndarray]:
        """Pictures by name (uint8 [H, W, C])."""
        if self.describe is not None:
            return {}
        n = min(len(self.x), 16 if self.grid is None else 3)
        rec = model.reconstruct(self.x[:n], None if self.labels is None else self.labels[:n])
        if self.grid is not None:  # each piece above its reconstruction
            pairs = np.stack([self.x[:n], rec], axis=1).reshape(-1, *self.x.shape[1:])
            return {"reconstructions": self._grid(pairs, 2)}
        out = {"reconstructions": self._grid(np.concatenate([self.x[:n], rec]), n)}
        labels = np.zeros(144, np.int32) if model.conditional else None  # class 0's pictures
        if model.latent_dim == 2:
            axis = np.linspace(-2.0, 2.0, 12, dtype=np.float32)
            grid = np.stack(np.meshgrid(axis, -axis), axis=-1).reshape(-1, 2)[:, ::-1]
            out["latent_manifold"] = self._grid(model.decode(grid, labels), 12)
        else:
            out["latent_traversal"] = self._traversal(model, labels)
        return out

    def histograms(self, model) -> dict[str, np.ndarray]:
        return {"kl_per_dimension": model.kl_per_dimension(self.x, self.labels)}

    def scalars(self, model) -> dict[str, float]:
        """Active units of each stochastic layer (`active_units_1`, `active_units_2`, ...) over
        the projector's examples (else the reference batch)."""
        x, y = self.projector if self.projector is not None else (self.x, self.labels)
        units = model.active_units_per_layer(x, y if model.conditional else None)
        return {f"active_units_{i + 1}": float(u) for i, u in enumerate(units)}

    def _traversal(self, model, labels, steps: int = 9, rows: int = 8) -> np.ndarray:
        kl = model.kl_per_dimension(self.x, self.labels)
        dims = np.argsort(-kl)[:rows]
        values = np.linspace(-2.5, 2.5, steps, dtype=np.float32)
        # Row r starts from reference example r's code (the all-zero code is not a typical one:
        # its decoding can be nearly blank), with one dimension swept.
        codes, _ = model.encode(self.x, self.labels)
        rows_of = np.arange(len(dims)) % len(codes)
        z = np.repeat(codes[rows_of], steps, axis=0).astype(np.float32)
        for r, d in enumerate(dims):
            z[r * steps:(r + 1) * steps, d] = values
        if labels is not None and self.labels is not None:  # each row in its example's class
            labels = np.repeat(np.asarray(self.labels)[rows_of], steps).astype(np.int32)
        return self._grid(model.decode(z, None if labels is None else labels[:len(z)]), steps)
