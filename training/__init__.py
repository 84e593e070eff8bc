"""Making the breed model. Training: data roots and `make data` (oxford_pets), the split,
views, backbones, fine-tuning, evaluation (train.py is the run). Conversion (convert.py,
convert_model.py): which breeds ship, export to .tflite, the int8 agreement rule, thresholds,
the second look, the test figures, the model card; then the promotion gate."""
