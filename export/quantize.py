"""Static INT8 (QDQ, S8S8) quantization through onnxruntime, calibrated on training images."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from serving.contract import to_model_input


class ImageReader(CalibrationDataReader):
    def __init__(self, input_name: str, images: np.ndarray, batch_size: int = 100) -> None:
        self.batches = ({input_name: to_model_input(images[i : i + batch_size])}
                        for i in range(0, len(images), batch_size))

    def get_next(self) -> dict | None:
        return next(self.batches, None)


def quantize_int8(fp32_path: Path, int8_path: Path, calibration_images: np.ndarray,
                  input_name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # Pre-processing folds BatchNorm into the convs, so whole Conv+ReLU blocks get quantized.
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        # The convs and the linear layers carry the work; the averaging of the members'
        # probabilities stays in float, where small probabilities keep their logarithm.
        quantize_static(str(prepared), str(int8_path), ImageReader(input_name, calibration_images),
                        quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, per_channel=True,
                        calibrate_method=CalibrationMethod.MinMax,
                        op_types_to_quantize=["Conv", "Gemm", "MatMul"])
