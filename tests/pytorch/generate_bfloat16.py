#!/usr/bin/env -S /usr/bin/python3
"""PyTorch reference data for bfloat16 weights (WeightFormat.BFloat16 in the library).

The library's BFloat16 format rounds every weight matrix (weight_ih, weight_hh, weight_hr; not
the biases) to bfloat16 as `tensor.bfloat16()` does, and computes in float32. PyTorch computes the
same when a float32 module's weights are replaced by `w.bfloat16().float()`.

What it writes (into tests/Recurrent.Tests/ReferenceData/bfloat16/, overwriting):
  * rounding.safetensors    `x` (float32: specials, ties, edges of the range and random values
                            of every magnitude) and `expected` = x.bfloat16().float().
  * <case_id>.safetensors   the per-case format of generate_reference.py: `param.<name>` holds
                            the module's ORIGINAL float32 state dict (what a user loads), the
                            expected outputs come from the same module after its weights were
                            rounded to bfloat16. Cases cover the compact storage (batch 1 row
                            kernels, the blocked products with k over one K block, GRU,
                            LSTM projection, bidirectional stacks), a layer small enough to run
                            in lanes (whose weights stay float, rounded), and a cell.

How to run (needs torch + numpy; imports generate_reference.py from this folder):
    /usr/bin/python3 tests/pytorch/generate_bfloat16.py            # write files
    /usr/bin/python3 tests/pytorch/generate_bfloat16.py --verify   # write, then re-read and check
The C# tests (WeightFormatReferenceTests) only read the committed files; they never need Python.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import generate_reference as g  # noqa: E402

SUBDIR = "bfloat16"
OUT_DIR = os.path.join(g.OUT_DIR, SUBDIR)


def define_cases():
    specs = []

    def add(case_id, module, batch, seq_len, **cfg):
        desc = cfg.pop("description")
        specs.append((case_id, g.config_meta(module, description=desc, **cfg), batch, seq_len))

    add("lstm_h64_batch1", "LSTM", 1, 9, input_size=48, hidden_size=64,
        description="LSTM 48 -> 64, batch 1: the row kernels over compact weights.")
    add("lstm_proj_bidir_2layer_h0", "LSTM", 5, 7, input_size=40, hidden_size=64, proj_size=24,
        num_layers=2, bidirectional=True, has_state=True,
        description="LSTM 40 -> 64, projection 24, 2 layers, bidirectional, batch 5, random state.")
    add("gru_h80_batch3_h0", "GRU", 3, 8, input_size=50, hidden_size=80, has_state=True,
        description="GRU 50 -> 80, batch 3, random state: compact W_hh in its own product.")
    add("rnn_relu_in260_h200_batch8", "RNN", 8, 4, input_size=260, hidden_size=200, nonlinearity="relu",
        batch_first=True, description="RNN relu 260 -> 200, batch 8, batch-first: blocked products, the input's k over one K block.")
    add("lstm_h8_batch32", "LSTM", 32, 6, input_size=10, hidden_size=8,
        description="LSTM 10 -> 8, batch 32: a layer that may run in lanes (weights rounded, kept as floats).")
    add("lstmcell_h64_h0", "LSTMCell", 4, None, input_size=40, hidden_size=64, has_state=True,
        description="LSTMCell 40 -> 64, batch 4, random state.")
    add("grucell_h96", "GRUCell", 2, None, input_size=33, hidden_size=96,
        description="GRUCell 33 -> 96, batch 2, no state.")
    return specs


def make_case(case_id, meta, batch, seq_len):
    """generate_reference's case with the expected outputs of the bfloat16-rounded weights."""
    torch.manual_seed(g.seed_for("bfloat16/" + case_id))
    model = g.build_module(meta).float().eval()
    original = {k: v.clone() for k, v in model.state_dict().items()}
    kind = meta["module"]
    i, h = int(meta["input_size"]), int(meta["hidden_size"])
    inputs = {}
    if kind.endswith("Cell"):
        inputs["input"] = torch.randn(batch, i)
        if meta["has_state"] == "true":
            inputs["h0"] = torch.randn(batch, h)
            if kind == "LSTMCell":
                inputs["c0"] = torch.randn(batch, h)
    else:
        bf = meta["batch_first"] == "true"
        inputs["input"] = torch.randn(*((batch, seq_len, i) if bf else (seq_len, batch, i)))
        d = 2 if meta["bidirectional"] == "true" else 1
        nl, proj = int(meta["num_layers"]), int(meta["proj_size"])
        if meta["has_state"] == "true":
            inputs["h0"] = torch.randn(d * nl, batch, proj if proj > 0 else h)
            if kind == "LSTM":
                inputs["c0"] = torch.randn(d * nl, batch, h)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("weight"):
                p.copy_(p.bfloat16().float())
    outputs = g.run(model, meta, inputs)
    tensors = {"param." + k: v for k, v in original.items()}
    tensors.update(inputs)
    tensors.update(outputs)
    return tensors


def rounding_values():
    specials = [0.0, -0.0, 1.0, -1.0, float("inf"), float("-inf"), float("nan"),
                1.00390625, 1.01171875, 1.0 + 2.0 ** -9, 1.0 + 3 * 2.0 ** -9, 255.5, 65504.0,
                3.3895313892515355e38,   # largest bfloat16
                3.3961775292304e38,      # rounds up past it: inf
                3.4028234663852886e38,   # float max: inf
                1.1754943508222875e-38,  # smallest normal
                1e-40, -1e-40, 1.401298464324817e-45, -1.401298464324817e-45]
    x = torch.tensor(specials, dtype=torch.float32)
    gen = torch.Generator().manual_seed(g.seed_for("bfloat16/rounding"))
    bits = torch.randint(-2 ** 31, 2 ** 31 - 1, (4000,), generator=gen, dtype=torch.int32)
    random = bits.view(torch.float32)
    random = random[~torch.isnan(random)]
    return torch.cat([x, random, torch.randn(2000, generator=gen)])


def main(argv):
    verify = "--verify" in argv
    os.makedirs(OUT_DIR, exist_ok=True)
    written = {}
    x = rounding_values()
    written["rounding.safetensors"] = {"x": x, "expected": x.bfloat16().float()}
    for case_id, meta, batch, seq_len in define_cases():
        tensors = make_case(case_id, meta, batch, seq_len)
        g.write_safetensors(os.path.join(OUT_DIR, case_id + ".safetensors"), tensors, meta)
        written[case_id + ".safetensors"] = tensors
        print(f"{SUBDIR}/{case_id}.safetensors: {meta['description']}")
    g.write_safetensors(os.path.join(OUT_DIR, "rounding.safetensors"), written["rounding.safetensors"],
                        {"description": "x and x.bfloat16().float() (PyTorch's rounding, ties to even)",
                         "torch_version": torch.__version__})
    print(f"{SUBDIR}/rounding.safetensors: {x.numel()} values")
    if verify:
        for fname, tensors in written.items():
            _, back = g.read_safetensors(os.path.join(OUT_DIR, fname))
            for k, v in tensors.items():
                if not g.same(back[k], v.detach().contiguous()):
                    raise SystemExit(f"verify: {fname} {k} differs after re-reading")
        print("verified", len(written), "files")


if __name__ == "__main__":
    main(sys.argv[1:])
