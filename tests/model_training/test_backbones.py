"""The Keras port of EfficientNet-Lite matches the PyTorch reference implementation."""

from __future__ import annotations

import numpy as np
import pytest

from training.backbones import efficientnet_lite, lite_checkpoint_path

torch = pytest.importorskip("torch")
reference = pytest.importorskip("efficientnet_lite_pytorch")


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
def test_keras_port_matches_pytorch_logits(name: str) -> None:
    backbone = efficientnet_lite(name)
    size = backbone.input_size
    torch_model = reference.EfficientNet.from_pretrained(name.replace("_", "-"),
                                                         weights_path=str(lite_checkpoint_path(name))).eval()
    pixels = np.random.default_rng(0).uniform(0, 255, (2, size, size, 3)).astype(np.float32)
    keras_logits = backbone.imagenet_head(backbone.features(pixels, training=False)).numpy()
    with torch.no_grad():  # the reference expects (x - 127) / 128, channels first
        torch_logits = torch_model(torch.from_numpy((pixels - 127) / 128).permute(0, 3, 1, 2)).numpy()
    assert np.abs(keras_logits - torch_logits).max() < 1e-4
    assert (keras_logits.argmax(1) == torch_logits.argmax(1)).all()
    assert len(backbone.blocks) == 1 + sum(1 for layer in backbone.features.layers if layer.name.endswith("_project"))


def test_top_layers_are_the_last_blocks() -> None:
    backbone = efficientnet_lite("efficientnet_lite0")
    names = {layer.name for layer in backbone.top_layers(2)}
    assert "head_conv" in names and "block15_project" in names
    assert not any(name.startswith("block14_") for name in names)
    assert backbone.top_layers(0) == []
