"""Trains Tributary's shipped anomaly models and writes their model card.

  car_autoencoder.onnx  18 connected-car sensor fields (carsim JSON readings)
  ecg_autoencoder.onnx  210-value windows of the original demo's delimited
                        "eventid,v1# v2# … v210" format

Both are MLP autoencoders trained on NORMAL data from the project's own
simulator (`tributary generate`), with numpy only (Adam, seeded), and
written as ONNX graphs by onnx_export.py with self-describing metadata:
feature names, scaling, threshold (a stated quantile of normal scores on a
separate calibration set) and model name/version. They are evaluated on
held-out labelled data (other seeds, failures injected) with ONNX Runtime
1.24 — the runtime the Go transform uses.

Usage (from the repository root; models/setup_venv.sh makes the venv):
  $VENV/bin/python models/train.py            # writes models/*.onnx, metrics.json, README.md
  $VENV/bin/python models/train.py --generator "/path/to/tributary generate"
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

# One BLAS thread: identical floating-point results on every run, and the
# training stays off the second core the tests run on.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import onnx_export as ox  # noqa: E402

QUANTILE = 0.995
MODEL_VERSION = "1"

# Must match carsim.FeatureNames; checked against the generated data.
CAR_FEATURES = [
    "coolant_temp", "intake_air_temp", "intake_air_flow_speed", "battery_percentage",
    "battery_voltage", "current_draw", "speed", "engine_vibration_amplitude", "throttle_pos",
    "tire_pressure11", "tire_pressure12", "tire_pressure21", "tire_pressure22",
    "accelerometer11_value", "accelerometer12_value", "accelerometer21_value",
    "accelerometer22_value", "control_unit_firmware",
]

# Datasets: (seed, cars, count, failure rate). Seeds differ between
# training, calibration and evaluation, so evaluation data is never seen.
CAR_DATA = {
    "train": dict(seed=101, cars=400, count=80000, rate=0.0),
    "calib": dict(seed=202, cars=200, count=30000, rate=0.0),
    "eval": dict(seed=303, cars=300, count=60000, rate=0.05),
}
ECG_DATA = {
    "train": dict(seed=11, count=12000, rate=0.0),
    "calib": dict(seed=12, count=4000, rate=0.0),
    "eval": dict(seed=13, count=8000, rate=0.1),
}


# ---------------------------------------------------------------- data

class Generator:
    """Runs `tributary generate`; builds the binary once unless given one."""

    def __init__(self, cmd):
        self.tmp = None
        if cmd:
            self.cmd = shlex.split(cmd)
            return
        self.tmp = tempfile.mkdtemp(prefix="tributary-train-")
        exe = os.path.join(self.tmp, "tributary")
        subprocess.run(["go", "build", "-o", exe, "./cmd/tributary"], cwd=ROOT, check=True)
        self.cmd = [exe, "generate"]

    def lines(self, **args):
        cmd = list(self.cmd)
        for k, v in args.items():
            if v is True:
                cmd.append("--" + k.replace("_", "-"))
            elif v is not None:
                cmd += ["--" + k.replace("_", "-"), str(v)]
        out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
        return [ln for ln in out.splitlines() if ln.strip()]


def car_dataset(gen, seed, cars, count, rate):
    rows = [json.loads(ln) for ln in gen.lines(count=count, cars=cars, seed=seed, failure_rate=rate)]
    missing = [f for f in CAR_FEATURES if f not in rows[0]]
    if missing:
        raise SystemExit(f"generator output lacks features {missing}")
    x = np.array([[float(r[f]) for f in CAR_FEATURES] for r in rows], dtype=np.float64)
    y = np.array([str(r.get("failure_occurred", "false")).lower() == "true" for r in rows])
    modes = np.array([r.get("failure_mode", "none") for r in rows])
    return x, y, modes


def delimited_values(text):
    """Mirror of the Go transform's parsing: drop 'eventid,', split on '#'."""
    _, _, rest = text.partition(",")
    return [float(v) for v in rest.strip().rstrip("#").split("#")]


def ecg_dataset(gen, seed, count, rate):
    # --labels appends ",<label>" after the 210 values.
    x, labels = [], []
    for ln in gen.lines(count=count, seed=seed, failure_rate=rate, format="delimited", labels=True):
        text, _, label = ln.rpartition(",")
        x.append(delimited_values(text))
        labels.append(label.strip())
    x = np.array(x, dtype=np.float64)
    labels = np.array(labels)
    return x, labels != "none", labels


# ---------------------------------------------------------------- model

def init_mlp(rng, sizes):
    ws, bs = [], []
    for a, b in zip(sizes[:-1], sizes[1:]):
        ws.append(rng.normal(0, np.sqrt(2.0 / a), (a, b)))
        bs.append(np.zeros(b))
    return ws, bs


def forward(ws, bs, acts, x):
    hs, pre = [x], []
    h = x
    for w, b, act in zip(ws, bs, acts):
        z = h @ w + b
        pre.append(z)
        h = np.maximum(z, 0) if act == "relu" else z
        hs.append(h)
    return hs, pre


def train_autoencoder(x, sizes, acts, seed, epochs, batch=256, lr=2e-3, noise=0.0):
    """Minibatch Adam on mean squared reconstruction error (float64)."""
    rng = np.random.default_rng(seed)
    ws, bs = init_mlp(rng, sizes)
    params = ws + bs
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps, step = 0.9, 0.999, 1e-8, 0
    n = len(x)
    for ep in range(epochs):
        order = rng.permutation(n)
        rate = lr * (0.5 * (1 + np.cos(np.pi * ep / epochs)))  # cosine decay
        total = 0.0
        for i in range(0, n, batch):
            xb = x[order[i:i + batch]]
            xin = xb + rng.normal(0, noise, xb.shape) if noise else xb
            hs, pre = forward(ws, bs, acts, xin)
            diff = hs[-1] - xb
            total += float((diff ** 2).sum())
            g = 2 * diff / diff.size
            gws, gbs = [None] * len(ws), [None] * len(ws)
            for k in reversed(range(len(ws))):
                if acts[k] == "relu":
                    g = g * (pre[k] > 0)
                gws[k] = hs[k].T @ g
                gbs[k] = g.sum(0)
                g = g @ ws[k].T
            step += 1
            for j, (p, gp) in enumerate(zip(params, gws + gbs)):
                m[j] = b1 * m[j] + (1 - b1) * gp
                v[j] = b2 * v[j] + (1 - b2) * gp * gp
                p -= rate * (m[j] / (1 - b1 ** step)) / (np.sqrt(v[j] / (1 - b2 ** step)) + eps)
        if ep % max(1, epochs // 5) == 0 or ep == epochs - 1:
            print(f"  epoch {ep + 1}/{epochs}: train mse {total / x.size:.5f}", flush=True)
    return ws, bs


# ---------------------------------------------------------------- scoring

def scale(x, center, scl):
    # Same arithmetic as the Go transform: float64 affine, then float32.
    return ((x - center) / scl).astype(np.float32)


def ort_scores(path, xs):
    """Reconstruction MSE per row with ONNX Runtime, as the Go transform computes it."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    s = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    y = s.run(None, {"input": xs})[0]
    d = xs.astype(np.float64) - y.astype(np.float64)
    return (d * d).mean(axis=1)


def roc_auc(scores, labels):
    """Mann-Whitney U with average ranks for ties."""
    order = np.argsort(scores, kind="mergesort")
    _, inv, counts = np.unique(scores[order], return_inverse=True, return_counts=True)
    avg = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = np.empty(len(scores))
    ranks[order] = avg[inv]
    pos = labels.astype(bool)
    npos, nneg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - npos * (npos + 1) / 2.0) / (npos * nneg))


def evaluate(scores, labels, threshold, kinds):
    flag = scores > threshold
    tp = int((flag & labels).sum())
    fp = int((flag & ~labels).sum())
    fn = int((~flag & labels).sum())
    per_kind = {}
    for k in sorted(set(kinds[labels])):
        sel = kinds == k
        per_kind[k] = {"n": int(sel.sum()), "recall": float(flag[sel].mean())}
    return {
        "n": int(len(labels)), "positives": int(labels.sum()),
        "roc_auc": roc_auc(scores, labels),
        "precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn),
        "false_positive_rate": fp / max(1, int((~labels).sum())),
        "recall_by_kind": per_kind,
    }


def build(name, features, n, sizes, acts, scaling, x_train, x_calib, eval_set, out, seed, epochs,
          description, noise=0.0, clip_output=True):
    t0 = time.time()
    center, scl = np.asarray(scaling["center"]), np.asarray(scaling["scale"])
    xs_train = scale(x_train, center, scl).astype(np.float64)
    ws, bs = train_autoencoder(xs_train, sizes, acts, seed, epochs, noise=noise)
    clip = (xs_train.min(0), xs_train.max(0)) if clip_output else None
    graph = ox.mlp_graph([w.astype(np.float32) for w in ws], [b.astype(np.float32) for b in bs],
                         [a if a == "relu" else None for a in acts], name, clip=clip)
    path = os.path.join(out, name + ".onnx")
    # First without threshold, to calibrate with the exact runtime scores.
    tmp = path + ".tmp"
    ox.save(ox.make_model(graph, ox.metadata_props(name, MODEL_VERSION, features, scaling)), tmp)
    calib = ort_scores(tmp, scale(x_calib, center, scl))
    os.remove(tmp)
    threshold = float(np.quantile(calib, QUANTILE))
    props = ox.metadata_props(name, MODEL_VERSION, features, scaling, threshold=threshold,
                              quantile=QUANTILE,
                              extra={"training": f"{len(x_train)} normal rows, seed {seed}, {epochs} epochs",
                                     "architecture": "-".join(map(str, sizes))})
    ox.save(ox.make_model(graph, props, doc=description), path)
    x_eval, y_eval, kinds = eval_set
    scores = ort_scores(path, scale(x_eval, center, scl))
    metrics = evaluate(scores, y_eval, threshold, kinds)
    metrics.update(threshold=threshold, quantile=QUANTILE, architecture="-".join(map(str, sizes)),
                   train_rows=len(x_train), calib_rows=len(x_calib), bytes=os.path.getsize(path),
                   train_seconds=round(time.time() - t0, 1))
    print(f"{name}: {json.dumps(metrics, indent=1)}", flush=True)
    return metrics


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generator", default="", help="command prefix of `tributary generate` (default: build ./cmd/tributary)")
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--only", choices=["car", "ecg"], default=None)
    args = ap.parse_args()
    gen = Generator(args.generator)
    results = {}
    metrics_path = os.path.join(args.out, "metrics.json")
    if os.path.exists(metrics_path):
        with open(metrics_path) as f:
            results = json.load(f)

    if args.only in (None, "car"):
        print("car: generating data", flush=True)
        x_train, y_train, _ = car_dataset(gen, **CAR_DATA["train"])
        x_train = x_train[~y_train]  # normal readings only
        x_calib, y_calib, _ = car_dataset(gen, **CAR_DATA["calib"])
        x_calib = x_calib[~y_calib]
        eval_set = car_dataset(gen, **CAR_DATA["eval"])
        mean, std = x_train.mean(0), x_train.std(0)
        std[std == 0] = 1.0
        scaling = {"method": "standard", "center": mean, "scale": std}
        n = len(CAR_FEATURES)
        results["car_autoencoder"] = build(
            "car_autoencoder", CAR_FEATURES, n, [n, 64, 12, 64, n], ["relu", None, "relu", None], scaling,
            x_train, x_calib, eval_set, args.out, seed=7, epochs=40,
            description="Connected-car sensor autoencoder; score = mean squared reconstruction error of standardized features.")
        results["car_autoencoder"]["data"] = CAR_DATA

    if args.only in (None, "ecg"):
        print("ecg: generating data", flush=True)
        x_train, y_train, _ = ecg_dataset(gen, **ECG_DATA["train"])
        x_train = x_train[~y_train]
        x_calib, y_calib, _ = ecg_dataset(gen, **ECG_DATA["calib"])
        x_calib = x_calib[~y_calib]
        eval_set = ecg_dataset(gen, **ECG_DATA["eval"])
        n = x_train.shape[1]
        # One scale for all readings: they are one signal, not separate sensors.
        scaling = {"method": "standard", "center": [float(x_train.mean())], "scale": [float(x_train.std())]}
        results["ecg_autoencoder"] = build(
            "ecg_autoencoder", None, n, [n, 128, 32, 128, n], ["relu", None, "relu", None], scaling,
            x_train, x_calib, eval_set, args.out, seed=7, epochs=60,
            description="Autoencoder for 210-value ECG-like windows (\"eventid,v1# v2# … v210\"); score = reconstruction MSE.")
        results["ecg_autoencoder"]["data"] = ECG_DATA

    results["runtime"] = {"onnxruntime": ort.__version__, "numpy": np.__version__}
    with open(metrics_path, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", metrics_path)


if __name__ == "__main__":
    main()
