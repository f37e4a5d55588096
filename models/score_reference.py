"""Reference scores with Python's onnxruntime, for the Go fidelity test.

Reads JSON record values (one per line) on stdin and prints one score per
line. It implements feature extraction, scaling and the score on its own,
from the model's metadata, so the Go transform is checked against an
independent implementation:

  python models/score_reference.py --model models/car_autoencoder.onnx < values.jsonl
  python models/score_reference.py --model models/ecg_autoencoder.onnx \
      --field payload --prefix-sep , < values.jsonl
"""

import argparse
import json
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--field", default="", help="delimited input: the field holding the string")
    ap.add_argument("--delimiter", default="#")
    ap.add_argument("--prefix-sep", default="")
    args = ap.parse_args()

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    n = sess.get_inputs()[0].shape[1]
    features = json.loads(meta["features"]) if "features" in meta else None
    scaling = json.loads(meta["scaling"]) if "scaling" in meta else None

    rows = []
    for line in sys.stdin:
        if not line.strip():
            continue
        v = json.loads(line)
        if args.field:
            s = v[args.field]
            if args.prefix_sep:
                s = s.split(args.prefix_sep, 1)[1]
            s = s.strip()
            if s.endswith(args.delimiter):
                s = s[: -len(args.delimiter)]
            rows.append([float(t) for t in s.split(args.delimiter)])
        else:
            rows.append([float(v[f]) for f in features])
    x = np.array(rows, dtype=np.float64)
    assert x.shape[1] == n, (x.shape, n)
    if scaling:
        x = (x - np.array(scaling["center"])) / np.array(scaling["scale"])
    xs = x.astype(np.float32)
    y = sess.run(None, {sess.get_inputs()[0].name: xs})[0]
    if meta.get("score", "reconstruction_mse") == "output":
        scores = y.reshape(-1).astype(np.float64)
    else:
        d = xs.astype(np.float64) - y.astype(np.float64)
        scores = (d * d).mean(axis=1)
    out = sys.stdout
    for s in scores:
        out.write(repr(float(s)) + "\n")


if __name__ == "__main__":
    main()
