"""Spectrograms of waveforms inside Keras models: `LogMel`, the front end of tfgen's
spoken-digit classifier (the audio metrics' feature space) and of the spectrogram models."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="tfgen")
class LogMel(layers.Layer):
    """Waveforms [batch, samples, 1] in [-1, 1] -> log-mel spectrograms [batch, frames, mels, 1]:
    the magnitude of the short-time Fourier transform (periodic Hann window of `frame_length`
    samples, hop `frame_step`, the end zero-padded), a mel filterbank of `mels` bands from
    `low_hz` to the Nyquist frequency (`tf.signal.linear_to_mel_weight_matrix`, HTK's mel
    scale) and log(· + 1e-6). Always float32."""

    def __init__(self, sample_rate: int, frame_length: int = 256, frame_step: int = 128,
                 mels: int = 64, low_hz: float = 20.0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.sample_rate, self.frame_length = int(sample_rate), int(frame_length)
        self.frame_step, self.mels, self.low_hz = int(frame_step), int(mels), float(low_hz)

    def call(self, x):
        x = tf.cast(x[..., 0], tf.float32)
        stft = tf.signal.stft(x, self.frame_length, self.frame_step,
                              fft_length=self.frame_length, pad_end=True)
        matrix = tf.signal.linear_to_mel_weight_matrix(
            self.mels, self.frame_length // 2 + 1, self.sample_rate, self.low_hz,
            self.sample_rate / 2.0)
        return tf.math.log(tf.tensordot(tf.abs(stft), matrix, 1) + 1e-6)[..., None]

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = None if samples is None else -(-samples // self.frame_step)
        return (input_shape[0], frames, self.mels, 1)

    def get_config(self):
        return {**super().get_config(), "sample_rate": self.sample_rate,
                "frame_length": self.frame_length, "frame_step": self.frame_step,
                "mels": self.mels, "low_hz": self.low_hz}
