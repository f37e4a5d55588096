"""Writes the tiny fixture models of transforms/anomaly/testdata/.

Each exercises one path of the Go transform: two versions of a 3-feature
autoencoder (hot reload), a model emitting its own score, and models the
transform must reject (fixed batch size, NaN output, no feature names).
Run: $VENV/bin/python models/make_testdata.py  (outputs are committed).
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_export as ox  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "transforms", "anomaly", "testdata")
FEATURES = ["a", "b", "c"]
SCALING = {"method": "standard", "center": [1.0, 2.0, 3.0], "scale": [2.0, 4.0, 0.5]}


def linear_ae(seed, version, threshold, features=FEATURES, batch="batch", name="tiny"):
    rng = np.random.default_rng(seed)
    w0 = rng.normal(0, 0.5, (3, 2)).astype(np.float32)
    b0 = rng.normal(0, 0.1, 2).astype(np.float32)
    w1 = rng.normal(0, 0.5, (2, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 3).astype(np.float32)
    g = ox.mlp_graph([w0, w1], [b0, b1], ["relu", None], name, batch_dim=batch)
    props = ox.metadata_props(name, version, features=features, scaling=SCALING,
                              threshold=threshold, quantile="0.995")
    return ox.make_model(g, props, doc=f"fixture {name} v{version}")


def score_model():
    # score = sum(x^2) per row, shape [batch, 1]: the "model's own score" path.
    nodes = [
        helper.make_node("Mul", ["input", "input"], ["sq"]),
        helper.make_node("ReduceSum", ["sq", "axes"], ["score"], keepdims=1),
    ]
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    g = helper.make_graph(nodes, "tiny_score",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3])],
                          [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1])],
                          [axes])
    props = ox.metadata_props("tiny_score", 1, features=FEATURES, threshold=10.0, score="output")
    return ox.make_model(g, props)


def nan_model():
    nan = numpy_helper.from_array(np.full(3, np.nan, np.float32), "nan")
    g = helper.make_graph([helper.make_node("Add", ["input", "nan"], ["reconstruction"])], "tiny_nan",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3])],
                          [helper.make_tensor_value_info("reconstruction", TensorProto.FLOAT, ["batch", 3])],
                          [nan])
    return ox.make_model(g, ox.metadata_props("tiny_nan", 1, features=FEATURES))


def main():
    os.makedirs(OUT, exist_ok=True)
    models = {
        "tiny_v1.onnx": linear_ae(1, 1, 0.5),
        "tiny_v2.onnx": linear_ae(2, 2, 0.7),
        "tiny_score.onnx": score_model(),
        "tiny_fixed_batch.onnx": linear_ae(1, 1, 0.5, batch=4, name="tiny_fixed"),
        "tiny_nan.onnx": nan_model(),
        "tiny_unnamed.onnx": linear_ae(3, 1, 0.5, features=None, name="tiny_unnamed"),
    }
    for name, m in models.items():
        ox.save(m, os.path.join(OUT, name))
        print("wrote", name, os.path.getsize(os.path.join(OUT, name)), "bytes")
    onnx.checker.check_model(os.path.join(OUT, "tiny_v1.onnx"))


if __name__ == "__main__":
    main()
