"""Writes small ONNX graphs directly with the `onnx` package.

An MLP autoencoder is a handful of MatMul/Add/Relu nodes, so building the
graph by hand from trained numpy weights is exact (no converter in between)
and keeps the dependencies to numpy + onnx. The transform reads the
metadata properties written here (see transforms/anomaly/metadata.go).
"""

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # loadable by every ONNX Runtime since 1.14, including 1.24.x


def metadata_props(name, version, features=None, scaling=None, threshold=None,
                   quantile=None, score="reconstruction_mse", extra=None):
    """The metadata the Go transform understands, as strings."""
    props = {"model_name": name, "model_version": str(version), "score": score}
    if features is not None:
        props["features"] = json.dumps(list(features))
    if scaling is not None:
        props["scaling"] = json.dumps({
            "method": scaling["method"],
            "center": [float(v) for v in scaling["center"]],
            "scale": [float(v) for v in scaling["scale"]],
        })
    if threshold is not None:
        props["threshold"] = repr(float(threshold))
    if quantile is not None:
        props["threshold_quantile"] = str(quantile)
    for k, v in (extra or {}).items():
        props[k] = str(v)
    return props


def mlp_graph(weights, biases, activations, name, batch_dim="batch",
              output_name="reconstruction", clip=None):
    """weights[i]: (in, out) float32; activations[i]: "relu" | "tanh" | None.

    clip=(lo, hi), per-feature arrays: the reconstruction is bounded to the
    range seen in normal data. A ReLU network extrapolates linearly, so an
    unbounded autoencoder happily reconstructs an out-of-range reading
    (a flat tyre at 22 psi) and hides it; bounded, it cannot.
    """
    n_in = weights[0].shape[0]
    n_out = weights[-1].shape[1]
    nodes, inits = [], []
    cur = "input"
    for i, (w, b, act) in enumerate(zip(weights, biases, activations)):
        inits.append(numpy_helper.from_array(np.asarray(w, np.float32), f"W{i}"))
        inits.append(numpy_helper.from_array(np.asarray(b, np.float32), f"B{i}"))
        last = i == len(weights) - 1
        final = last and act is None and clip is None
        mm, add = f"mm{i}", (output_name if final else f"h{i}")
        nodes.append(helper.make_node("MatMul", [cur, f"W{i}"], [mm]))
        nodes.append(helper.make_node("Add", [mm, f"B{i}"], [add]))
        cur = add
        if act is not None:
            out = output_name if last and clip is None else f"a{i}"
            op = {"relu": "Relu", "tanh": "Tanh"}[act]
            nodes.append(helper.make_node(op, [cur], [out]))
            cur = out
    if clip is not None:
        inits.append(numpy_helper.from_array(np.asarray(clip[0], np.float32), "clip_lo"))
        inits.append(numpy_helper.from_array(np.asarray(clip[1], np.float32), "clip_hi"))
        nodes.append(helper.make_node("Min", [cur, "clip_hi"], ["clipped_hi"]))
        nodes.append(helper.make_node("Max", ["clipped_hi", "clip_lo"], [output_name]))
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch_dim, n_in])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [batch_dim, n_out])],
        inits)
    return graph


def make_model(graph, props, doc=""):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="tributary-models")
    model.ir_version = IR_VERSION
    model.doc_string = doc
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    return model


def save(model, path):
    # Deterministic bytes: same weights and metadata, same file and hash.
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))
