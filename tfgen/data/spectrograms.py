"""Clips as spectrogram images and back: SpecGAN's representation (Donahue et al. 2019), which
the image GAN and the image VAE train on (`data.representation=spectrogram`).

- `log_magnitude`: |STFT| (periodic Hann window of `frame_length`, hop `frame_step`, the
  clip zero-padded at the end to a whole number of hops), its highest (Nyquist) bin dropped so
  that the bins are a power of two, log(· + 1e-6): [clips, frames, bins].
- `Normaliser`: SpecGAN's per-frequency normalisation -- each bin's mean and standard
  deviation over the train split's frames, the normalised values clipped to ±3 deviations and
  divided by 3, so the images lie in [-1, 1] (what a tanh generator makes).
- `griffin_lim`: a magnitude back to a waveform (Griffin & Lim 1984): start from zero phase,
  then `iterations` times take the phase of the STFT of the inverse STFT of the magnitude
  with the current phase. SpecGAN inverts its images this way (16 iterations there).

With 8,192 samples at 8 kHz, a 256-sample window and a 64-sample hop give 128 x 128 images;
16,384 at 16 kHz with a hop of 128 give the paper's 128 x 128.
"""

from __future__ import annotations

import dataclasses

import numpy as np

CLIP_STD = 3.0
FRAME_LENGTH = 256  # samples per STFT window (SpecGAN's 16 ms at 16 kHz)


def frame_step_for(samples: int, frames: int = 128) -> int:
    """The hop that cuts `samples` into `frames` frames."""
    return max(1, samples // frames)


def log_magnitude(x, frame_length: int = 256, frame_step: int = 64) -> np.ndarray:
    """Log-magnitude spectrograms [clips, frames, frame_length / 2] of clips [clips, samples(, 1)]
    (float32)."""
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(x, np.float32).reshape(len(x), -1))
    stft = tf.signal.stft(x, frame_length, frame_step, fft_length=frame_length, pad_end=True)
    frames = -(-int(x.shape[1]) // frame_step)
    magnitude = tf.abs(stft)[:, :frames, :frame_length // 2]
    return np.log(magnitude.numpy() + 1e-6).astype(np.float32)


@dataclasses.dataclass
class Normaliser:
    """Per-bin moments of the train split's log-magnitudes (`fit`), applied by `__call__`
    (to [-1, 1]) and undone by `invert`."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, spectrograms) -> Normaliser:
        s = np.asarray(spectrograms, np.float64).reshape(-1, np.shape(spectrograms)[-1])
        return cls(s.mean(axis=0).astype(np.float32),
                   np.maximum(s.std(axis=0), 1e-6).astype(np.float32))

    def __call__(self, spectrograms) -> np.ndarray:
        z = (np.asarray(spectrograms, np.float32) - self.mean) / self.std
        return (np.clip(z, -CLIP_STD, CLIP_STD) / CLIP_STD).astype(np.float32)

    def invert(self, images):
        """Log-magnitudes of normalised images: NumPy in, NumPy out; a tensor in, a tensor out
        (an exported model's `sample`)."""
        import tensorflow as tf

        out = (tf.clip_by_value(tf.convert_to_tensor(images, tf.float32), -1.0, 1.0) * CLIP_STD
               * self.std + self.mean)
        return out if tf.is_tensor(images) else out.numpy()

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> Normaliser:
        return cls(np.asarray(d["mean"], np.float32), np.asarray(d["std"], np.float32))


def griffin_lim(log_magnitudes, samples: int, frame_length: int = 256, frame_step: int = 64,
                iterations: int = 16) -> np.ndarray:
    """Waveforms [clips, samples, 1] whose STFT magnitudes approach exp(`log_magnitudes`)
    ([clips, frames, frame_length / 2]; the dropped Nyquist bin restored as zero), by
    `iterations` Griffin-Lim iterations from zero phase (`griffin_lim_tensor` in NumPy)."""
    return griffin_lim_tensor(np.asarray(log_magnitudes, np.float32), samples, frame_length,
                              frame_step, iterations).numpy()


def griffin_lim_tensor(log_magnitudes, samples: int, frame_length: int = 256,
                       frame_step: int = 64, iterations: int = 16):
    """`griffin_lim` in TensorFlow ops only (a float32 tensor in and out), so that a SavedModel
    can return sound."""
    import tensorflow as tf

    magnitude = tf.exp(tf.convert_to_tensor(log_magnitudes, tf.float32))
    magnitude = tf.pad(magnitude, [[0, 0], [0, 0], [0, 1]])  # the Nyquist bin
    magnitude = tf.complex(magnitude, tf.zeros_like(magnitude))
    window = tf.signal.inverse_stft_window_fn(frame_step)
    frames = int(magnitude.shape[1])

    def inverse(spectrum):
        return tf.signal.inverse_stft(spectrum, frame_length, frame_step, frame_length,
                                      window_fn=window)

    def forward(x):
        stft = tf.signal.stft(x, frame_length, frame_step, frame_length, pad_end=True)
        return stft[:, :frames]

    spectrum = magnitude
    for _ in range(int(iterations)):
        angle = forward(inverse(spectrum))
        phase = angle / tf.cast(tf.maximum(tf.abs(angle), 1e-8), angle.dtype)
        spectrum = magnitude * phase
    x = inverse(spectrum)[:, :samples]
    x = tf.pad(x, [[0, 0], [0, samples - min(samples, int(x.shape[1]))]])
    return tf.clip_by_value(x, -1.0, 1.0)[..., None]


def to_waveforms(images, spectrogram: dict) -> np.ndarray:
    """Clips [N, samples, 1] of normalised spectrogram images [N, frames, bins, 1], by the
    settings a spectrogram source records (`DatasetInfo.spectrogram`)."""
    return to_waveforms_tensor(np.asarray(images, np.float32), spectrogram).numpy()


def to_waveforms_tensor(images, spectrogram: dict):
    """`to_waveforms` in TensorFlow ops only: what an exported spectrogram model's `sample`
    returns."""
    import tensorflow as tf

    s = spectrogram
    images = tf.convert_to_tensor(images, tf.float32)[..., 0]
    if s.get("pixel_range") == "unit":  # [0, 1] images: back to the normaliser's [-1, 1]
        images = images * 2.0 - 1.0
    logs = Normaliser.from_dict(s).invert(images)
    return griffin_lim_tensor(logs, int(s["samples"]), int(s["frame_length"]),
                              int(s["frame_step"]), int(s["griffin_lim_iterations"]))


def spectral_convergence(reference, estimate, frame_length: int = 256,
                         frame_step: int = 64) -> float:
    """‖|S(ref)| - |S(est)|‖_F / ‖|S(ref)|‖_F: how far a waveform's magnitudes are from a
    reference's (0: equal)."""
    a = np.exp(log_magnitude(reference, frame_length, frame_step))
    b = np.exp(log_magnitude(estimate, frame_length, frame_step))
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))
