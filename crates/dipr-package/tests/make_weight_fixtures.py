"""Writes the real-model fixtures of tests/weights.rs from one safetensors model.

    python3 make_weight_fixtures.py MODEL.safetensors OUT_DIR

writes into OUT_DIR:
  original.safetensors                  the model, as it is;
  model.onnx                            the same tensors as the initializers of an ONNX graph, the
                                        small ones in the typed fields (float_data, int64_data) and the
                                        others as raw_data;
  model-0000{1,2}-of-00002.safetensors  the model in two shards, every tensor renamed;
  finetune.safetensors                  the model with the float tensors of its last layer moved by noise
                                        of 1e-3 of their RMS, the others untouched;
  torch-export.onnx                     where PyTorch and transformers are installed and the model's
                                        directory has its config.json: the model exported by
                                        torch.onnx.export, as a real exporter writes it (linear layers'
                                        weights transposed for MatMul, unused tensors left out);
  fixtures.json                         what was done: the tensors perturbed, the noise, the renames,
                                        and why there is no torch export if there is none.

Exits with 77 when a module it needs (numpy, safetensors, onnx) is missing, so the tests can skip.
"""

import json
import os
import re
import shutil
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file, save_file
except ImportError as missing:
    print(f"missing Python module: {missing.name}", file=sys.stderr)
    sys.exit(77)

NOISE = 1e-3
TYPED_UP_TO = 4096
ONNX_TYPES = {np.dtype("float32"): TensorProto.FLOAT, np.dtype("int64"): TensorProto.INT64}


def onnx_tensor(name, array):
    # Typed fields for the small tensors, raw_data for the others: both encodings are read.
    if array.size <= TYPED_UP_TO and array.dtype in ONNX_TYPES:
        return helper.make_tensor(name, ONNX_TYPES[array.dtype], array.shape, array.tolist(), raw=False)
    return numpy_helper.from_array(array, name)


def last_layer(names):
    layers = {int(m.group(1)) for n in names if (m := re.search(r"\.layer\.(\d+)\.", n))}
    return f".layer.{max(layers)}." if layers else None


def torch_export(model_dir, path):
    """Exports the model with PyTorch's ONNX exporter; returns why not, or None."""
    if not os.path.isfile(os.path.join(model_dir, "config.json")):
        return "no config.json beside the model"
    try:
        import warnings

        import torch
        from transformers import AutoModel
    except ImportError as missing:
        return f"missing Python module: {missing.name}"

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids):
            return self.model(input_ids=input_ids).last_hidden_state

    warnings.filterwarnings("ignore")
    try:
        model = AutoModel.from_pretrained(model_dir).eval()
        ids = torch.ones(1, 8, dtype=torch.long)
        torch.onnx.export(LastHiddenState(model), (ids,), path, input_names=["input_ids"], dynamo=False)
    except Exception as e:  # an exporter's failure only leaves this fixture out
        return f"torch.onnx.export failed: {type(e).__name__}: {e}"
    return None


def main(model, out):
    os.makedirs(out, exist_ok=True)
    tensors = load_file(model)
    names = list(tensors)
    shutil.copyfile(model, os.path.join(out, "original.safetensors"))

    graph = helper.make_graph([], "weights", [], [], initializer=[onnx_tensor(n, tensors[n]) for n in names])
    onnx.save_model(helper.make_model(graph), os.path.join(out, "model.onnx"))

    renames = {n: f"shard_tensor_{i:04d}" for i, n in enumerate(reversed(names))}
    half = len(names) // 2
    for k, part in enumerate([names[:half], names[half:]], start=1):
        shard = {renames[n]: tensors[n] for n in part}
        save_file(shard, os.path.join(out, f"model-{k:05d}-of-00002.safetensors"))

    marker = last_layer(names)
    rng = np.random.default_rng(20261201)
    perturbed, finetune = [], {}
    for n in names:
        t = tensors[n]
        if marker and marker in n and t.dtype.kind == "f":
            rms = float(np.sqrt(np.mean(t.astype(np.float64) ** 2)))
            t = (t + rng.standard_normal(t.shape) * NOISE * rms).astype(t.dtype)
            perturbed.append(n)
        finetune[n] = t
    save_file(finetune, os.path.join(out, "finetune.safetensors"))

    no_torch_export = torch_export(os.path.dirname(os.path.abspath(model)), os.path.join(out, "torch-export.onnx"))

    notes = {"tensors": len(names), "perturbed": perturbed, "noise": NOISE, "renames": renames}
    with open(os.path.join(out, "fixtures.json"), "w") as f:
        json.dump({**notes, "no_torch_export": no_torch_export}, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
