"""From a trained Keras model to the shipped `.tflite`: the breed head restricted to the
breeds that ship, conversion at a precision, and (int8) the layers that quantize worst,
so that those can stay in float (selective quantization); and the shipped Keras graph
itself, built from a trained backbone and head (export_model)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

    from training.backbones import Backbone

PRECISIONS = ("int8", "float32", "float16", "dynamic")


def restrict_breeds(keras_model_path: Path, keep: list[int], out_path: Path) -> None:
    """Save the shipped form of a trained model: its breed head with only the `keep` columns
    (the rest left out), and a third output, `cat_map`: the last feature map times the
    ImageNet classifier's cat rows (a class-activation map of "cat", catbreed.focus)."""
    import keras

    import training.layers  # noqa: F401  (registers the custom layers)
    from training.layers import CAT_CLASSES

    model = keras.saving.load_model(keras_model_path)
    old = model.get_layer("breed_logits")
    kernel, bias = old.get_weights()
    head = keras.layers.Dense(len(keep), name="breed_logits")
    head.build((None, kernel.shape[0]))
    head.set_weights([kernel[:, keep], bias[keep]])
    imagenet = model.get_layer("imagenet_logits")
    features = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    pool = next(layer for layer in features.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D))
    if features.output is not pool.output or len([x for x in model.layers if isinstance(x, keras.Model)]) != 1:
        raise ValueError("the cat map needs one backbone whose output is its pooled feature map (no flip averaging)")
    with_map = keras.Model(features.input, [pool.input, pool.output])
    pixels = keras.Input(model.input_shape[1:], name="pixels")
    feature_map, pooled = with_map(pixels)
    cat_rows = imagenet.get_weights()[0][:, list(CAT_CLASSES)].sum(axis=1, keepdims=True)
    cat_map = keras.layers.Dense(1, use_bias=False, name="cat_map")
    cat_map.build((None, cat_rows.shape[0]))
    cat_map.set_weights([cat_rows])
    outputs = {"breed_logits": head(pooled), "imagenet_logits": imagenet(pooled), "cat_map": cat_map(feature_map)}
    keras.Model(pixels, outputs, name=model.name).save(out_path)


def _photos(pixels: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    return lambda: ([photo[np.newaxis].astype(np.float32)] for photo in pixels)


def _converted(keras_model_path: Path, precision: str, calibration: np.ndarray | None, then: Callable) -> object:
    """Build the TFLite converter of the model (batch of one, a named signature) and hand it
    to `then`, while the exported SavedModel it reads still exists."""
    import keras
    import tensorflow as tf

    import training.layers  # noqa: F401

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    model = keras.saving.load_model(keras_model_path)
    size = model.input_shape[1]
    signature = [tf.TensorSpec((1, size, size, 3), tf.float32, name="pixels")]
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", input_signature=signature, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if precision != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if precision == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif precision == "int8":
            if calibration is None or not len(calibration):
                raise ValueError("int8 needs calibration photos")
            converter.representative_dataset = _photos(calibration)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        return then(converter)


def to_tflite(
    keras_model_path: Path, precision: str, calibration: np.ndarray | None = None, float_layers: tuple[str, ...] = ()
) -> bytes:
    """Keras model -> TFLite flatbuffer, float32 in and out. int8 (weights and activations)
    needs `calibration`: training photos as served, (N, size, size, 3); `float_layers`
    (tensor names from worst_quantized_layers) stay in float."""
    import tensorflow as tf

    def convert(converter: tf.lite.TFLiteConverter) -> bytes:
        if not float_layers:
            return converter.convert()
        options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=list(float_layers))
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=_photos(calibration[:1]), debug_options=options
        )
        return debugger.get_nondebug_quantized_model()

    if float_layers and precision != "int8":
        raise ValueError("only int8 keeps chosen layers in float")
    return _converted(keras_model_path, precision, calibration, convert)


def worst_quantized_layers(keras_model_path: Path, calibration: np.ndarray, photos: np.ndarray) -> list[tuple[str, float]]:
    """The int8 model's layers, worst quantized first, by the root-mean-square error of
    their output against float, in quantization steps (tf.lite's QuantizationDebugger over
    `photos`)."""
    import tensorflow as tf

    def measure(converter: tf.lite.TFLiteConverter) -> list[tuple[str, float]]:
        debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=_photos(photos))
        debugger.run()
        dump = io.StringIO()
        debugger.layer_statistics_dump(dump)
        dump.seek(0)
        rows = [r for r in csv.DictReader(dump) if float(r["scale"] or 0) > 0]
        ranked = [(r["tensor_name"], float(np.sqrt(float(r["mean_squared_error"])) / float(r["scale"]))) for r in rows]
        return sorted(ranked, key=lambda item: -item[1])

    return _converted(keras_model_path, "int8", calibration, measure)


def export_model(backbone: Backbone, head: keras.layers.Dense, temperature: float, flip_tta: bool = False) -> keras.Model:
    """The shipped model: pixels -> {breed_logits: logits / temperature, imagenet_logits}.

    Serving takes the softmax of each (catbreed.model): probabilities leave the quantized
    graph as logits, so that int8 rounding never makes two breeds tie, and the cat score
    (probability mass on the ImageNet cat classes) keeps its resolution near its threshold.
    With `flip_tta` the model also looks at the mirrored photo and averages the features.
    """
    import keras

    from training.layers import HorizontalFlip

    kernel, bias = head.get_weights()
    calibrated = keras.layers.Dense(kernel.shape[1], name="breed_logits")
    calibrated.build((None, kernel.shape[0]))
    calibrated.set_weights([kernel / temperature, bias / temperature])
    pixels = keras.Input((backbone.input_size, backbone.input_size, 3), name="pixels")
    features = backbone.features(pixels)
    if flip_tta:
        mirrored = backbone.features(HorizontalFlip(name="mirror")(pixels))
        features = keras.layers.Average(name="flip_average")([features, mirrored])
    outputs = {"breed_logits": calibrated(features), "imagenet_logits": backbone.imagenet_head(features)}
    return keras.Model(pixels, outputs, name=f"catbreed_{backbone.name}")
