#!/usr/bin/env -S /usr/bin/python3
"""PyTorch reference-data generator (the "oracle") for the Recurrent C# library.

What it writes (into tests/Recurrent.Tests/ReferenceData/, overwriting):
  * <case_id>.safetensors        one file per case: `param.<name>` for every entry of
                                 the module's state_dict(), `input`, optional `h0`/`c0`,
                                 and the expected `output`/`h_n`/`c_n` (layers) or
                                 `h_out`/`c_out` (cells); config in `__metadata__`.
  * model_<id>.safetensors       exactly `model.state_dict()` as a user would save it
                                 (metadata {"format": "pt"}), plus the sibling
  * model_<id>.io.safetensors    holding input, optional h0/c0, expected outputs and config.
  * dtypes.safetensors           one vector stored as F32/F64/F16/BF16 plus torch's own
                                 float32 conversion of each.
  * packed/<case_id>.safetensors variable-length cases: pack_padded_sequence -> module ->
                                 pad_packed_sequence, with every intermediate tensor.
  * packed/util_<id>.safetensors pad_sequence / pack_sequence / pad_packed_sequence alone.
(special/ holds NaN / infinity cases; generate_special_values.py writes them, importing this.)
The safetensors format is written by hand (no `safetensors` package needed), laid out
exactly as `safetensors.torch.save_file` does.

How to run (needs torch + numpy, stdlib otherwise; deterministic, fixed seed per case):
    /usr/bin/python3 tests/pytorch/generate_reference.py            # write files
    /usr/bin/python3 tests/pytorch/generate_reference.py --verify   # write, then re-read
                                                                    # and check every file
The C# tests only read the committed files; they never need Python.
"""

import json
import os
import struct
import sys
import zlib

import numpy as np
import torch

OUT_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "..", "Recurrent.Tests", "ReferenceData"))

# ----------------------------------------------------------------------------------
# safetensors writer / reader
# ----------------------------------------------------------------------------------

# Rank of each dtype in the safetensors Rust `Dtype` enum; save_file lays tensors out
# sorted by (dtype descending, name ascending).
_DTYPE_RANK = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 5, "U16": 6, "F16": 7, "BF16": 8,
               "I32": 9, "U32": 10, "F32": 11, "F64": 12, "I64": 13, "U64": 14}
_DTYPE_SIZE = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
_NP_DTYPE = {"F16": "<f2", "F32": "<f4", "F64": "<f8"}


def tensor_bytes(t):
    """(dtype string, shape, little-endian row-major bytes) of a CPU torch tensor."""
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.float32:
        return "F32", list(t.shape), t.numpy().astype("<f4").tobytes()
    if t.dtype == torch.float64:
        return "F64", list(t.shape), t.numpy().astype("<f8").tobytes()
    if t.dtype == torch.float16:
        return "F16", list(t.shape), t.numpy().astype("<f2").tobytes()
    if t.dtype == torch.bfloat16:
        return "BF16", list(t.shape), t.view(torch.int16).numpy().astype("<i2").tobytes()
    raise ValueError(f"unsupported dtype {t.dtype}")


def write_safetensors(path, tensors, metadata):
    """tensors: {name: torch.Tensor}; metadata: {str: str}. Returns bytes written."""
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    items = [(name,) + tensor_bytes(t) for name, t in tensors.items()]
    items.sort(key=lambda it: (-_DTYPE_RANK[it[1]], it[0]))
    header = {"__metadata__": dict(sorted(metadata.items()))}
    offset = 0
    for name, dtype, shape, data in items:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    blob = struct.pack("<Q", len(hjson)) + hjson + b"".join(it[3] for it in items)
    with open(path, "wb") as f:
        f.write(blob)
    return len(blob)


def read_safetensors(path):
    """Strict reader used by --verify. Returns (metadata, {name: torch.Tensor})."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0, f"{path}: header length {n} not a multiple of 8"
    hbytes = raw[8:8 + n]
    header = json.loads(hbytes.decode("utf-8"))
    assert hbytes.rstrip(b" ") == json.dumps(header, separators=(",", ":")).encode(), \
        f"{path}: header is not compact JSON + space padding"
    meta = header.pop("__metadata__")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    data = raw[8 + n:]
    infos = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    expected_order = sorted(header.items(), key=lambda kv: (-_DTYPE_RANK[kv[1]["dtype"]], kv[0]))
    assert [k for k, _ in infos] == [k for k, _ in expected_order], f"{path}: layout order"
    pos = 0
    out = {}
    for name, info in infos:
        b, e = info["data_offsets"]
        assert b == pos, f"{path}:{name}: hole/overlap at {b} (expected {pos})"
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        assert e - b == count * _DTYPE_SIZE[info["dtype"]], f"{path}:{name}: size mismatch"
        chunk = data[b:e]
        if info["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(chunk, "<i2").copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(chunk, _NP_DTYPE[info["dtype"]]).copy())
        out[name] = t.reshape(info["shape"])
        pos = e
    assert pos == len(data), f"{path}: {len(data) - pos} trailing bytes"
    return meta, out


# ----------------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------------

def seed_for(case_id):
    return zlib.crc32(case_id.encode("utf-8"))


def b2s(b):
    return "true" if b else "false"


def config_meta(module, input_size, hidden_size, num_layers=1, proj_size=0,
                nonlinearity="tanh", bias=True, batch_first=False, bidirectional=False,
                dropout=0.0, has_state=False, description=""):
    return {
        "module": module,
        "input_size": str(input_size),
        "hidden_size": str(hidden_size),
        "num_layers": str(num_layers),
        "proj_size": str(proj_size),
        "nonlinearity": nonlinearity,
        "bias": b2s(bias),
        "batch_first": b2s(batch_first),
        "bidirectional": b2s(bidirectional),
        "dropout": repr(float(dropout)),
        "has_state": b2s(has_state),
        "description": description,
        "torch_version": torch.__version__,
    }


def build_module(meta):
    """Construct the torch module described by a metadata dict."""
    kind = meta["module"]
    i, h = int(meta["input_size"]), int(meta["hidden_size"])
    bias = meta["bias"] == "true"
    if kind == "RNNCell":
        return torch.nn.RNNCell(i, h, bias=bias, nonlinearity=meta["nonlinearity"])
    if kind == "GRUCell":
        return torch.nn.GRUCell(i, h, bias=bias)
    if kind == "LSTMCell":
        return torch.nn.LSTMCell(i, h, bias=bias)
    kw = dict(num_layers=int(meta["num_layers"]), bias=bias,
              batch_first=meta["batch_first"] == "true",
              dropout=float(meta["dropout"]),
              bidirectional=meta["bidirectional"] == "true")
    if kind == "RNN":
        return torch.nn.RNN(i, h, nonlinearity=meta["nonlinearity"], **kw)
    if kind == "GRU":
        return torch.nn.GRU(i, h, **kw)
    if kind == "LSTM":
        return torch.nn.LSTM(i, h, proj_size=int(meta["proj_size"]), **kw)
    raise ValueError(kind)


def run(model, meta, inputs):
    """Run model on inputs {'input', optional 'h0', 'c0'}; returns expected outputs."""
    kind = meta["module"]
    x = inputs["input"]
    with torch.no_grad():
        if kind in ("RNNCell", "GRUCell"):
            return {"h_out": model(x, inputs["h0"]) if "h0" in inputs else model(x)}
        if kind == "LSTMCell":
            h, c = model(x, (inputs["h0"], inputs["c0"])) if "h0" in inputs else model(x)
            return {"h_out": h, "c_out": c}
        if kind == "LSTM":
            if "h0" in inputs:
                y, (h, c) = model(x, (inputs["h0"], inputs["c0"]))
            else:
                y, (h, c) = model(x)
            return {"output": y, "h_n": h, "c_n": c}
        y, h = model(x, inputs["h0"]) if "h0" in inputs else model(x)
        return {"output": y, "h_n": h}


def make_case(case_id, meta, batch, seq_len, weight_scale=1.0):
    """Build module + inputs deterministically; batch=None means unbatched."""
    torch.manual_seed(seed_for(case_id))
    model = build_module(meta).float().eval()
    if weight_scale != 1.0:
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(weight_scale)
    kind = meta["module"]
    i, h = int(meta["input_size"]), int(meta["hidden_size"])
    is_cell = kind.endswith("Cell")
    inputs = {}
    if is_cell:
        inputs["input"] = torch.randn(i) if batch is None else torch.randn(batch, i)
        sshape = (h,) if batch is None else (batch, h)
        if meta["has_state"] == "true":
            inputs["h0"] = torch.randn(*sshape)
            if kind == "LSTMCell":
                inputs["c0"] = torch.randn(*sshape)
    else:
        bf = meta["batch_first"] == "true"
        if batch is None:
            xs = (seq_len, i)
        else:
            xs = (batch, seq_len, i) if bf else (seq_len, batch, i)
        inputs["input"] = torch.randn(*xs)
        d = 2 if meta["bidirectional"] == "true" else 1
        nl = int(meta["num_layers"])
        proj = int(meta["proj_size"])
        hout = proj if proj > 0 else h
        if meta["has_state"] == "true":
            lead = (d * nl,) if batch is None else (d * nl, batch)
            inputs["h0"] = torch.randn(*lead, hout)
            if kind == "LSTM":
                inputs["c0"] = torch.randn(*lead, h)
    outputs = run(model, meta, inputs)
    return model, inputs, outputs


def shape_str(t):
    return "x".join(str(s) for s in t.shape) or "scalar"


CASE_SPECS = []  # (case_id, meta, batch, seq_len, weight_scale)


def add(case_id, module, batch, seq_len, weight_scale=1.0, **cfg):
    desc = cfg.pop("description")
    if weight_scale != 1.0:
        desc += f" All parameters scaled x{weight_scale:g} after default init so gates saturate / relu units die."
    meta = config_meta(module, description=desc, **cfg)
    CASE_SPECS.append((case_id, meta, batch, seq_len, weight_scale))


def define_cases():
    families = [("rnn_tanh", "RNN", "tanh"), ("rnn_relu", "RNN", "relu"),
                ("gru", "GRU", "tanh"), ("lstm", "LSTM", "tanh")]
    for p, mod, nl in families:
        name = f"{mod}" + (f"({nl})" if mod == "RNN" else "")
        add(f"{p}_seq_1layer", mod, 3, 5, input_size=7, hidden_size=13, nonlinearity=nl,
            description=f"{name}, seq-first, 1 layer, batch 3, no initial state.")
        add(f"{p}_seq_2layer_h0", mod, 5, 6, input_size=11, hidden_size=9, num_layers=2,
            nonlinearity=nl, has_state=True,
            description=f"{name}, seq-first, 2 layers, batch 5, random initial state.")
        add(f"{p}_bf_1layer_h0", mod, 3, 7, input_size=7, hidden_size=13, nonlinearity=nl,
            batch_first=True, has_state=True,
            description=f"{name}, batch-first, 1 layer, batch 3, random initial state.")
        add(f"{p}_bf_bidir_2layer", mod, 5, 4, input_size=11, hidden_size=9, num_layers=2,
            nonlinearity=nl, batch_first=True, bidirectional=True,
            description=f"{name}, batch-first, 2 layers, bidirectional, batch 5, no initial state.")
        add(f"{p}_unbatched_h0", mod, None, 6, input_size=7, hidden_size=13, num_layers=2,
            nonlinearity=nl, has_state=True,
            description=f"{name}, unbatched 2-D input (L, H_in), 2 layers, unbatched initial state (layers, H).")
        add(f"{p}_unbatched", mod, None, 5, input_size=11, hidden_size=9,
            nonlinearity=nl, bidirectional=True,
            description=f"{name}, unbatched 2-D input (L, H_in), 1 layer, bidirectional, no initial state.")
        add(f"{p}_bidir_3layer_h0", mod, 3, 8, 3.0, input_size=7, hidden_size=13, num_layers=3,
            nonlinearity=nl, bidirectional=True, has_state=True,
            description=f"{name}, seq-first, 3 layers, bidirectional, batch 3, random initial state.")
        add(f"{p}_nobias_bidir_2layer_h0", mod, 3, 9, input_size=11, hidden_size=9, num_layers=2,
            nonlinearity=nl, bias=False, bidirectional=True, has_state=True,
            description=f"{name}, bias=False, seq-first, 2 layers, bidirectional, batch 3, random initial state.")
        add(f"{p}_long520_h0", mod, 2, 520, input_size=5, hidden_size=9, nonlinearity=nl,
            has_state=True,
            description=f"{name}, long sequence L=520, seq-first, 1 layer, batch 2, random initial state.")
        add(f"{p}_wide_h37_in70_h0", mod, 5, 4, input_size=70, hidden_size=37, num_layers=2,
            nonlinearity=nl, has_state=True,
            description=f"{name}, input 70 / hidden 37 (crosses 32-wide panel edges), 2 layers, batch 5, random initial state.")

    # LSTM with projection.
    add("lstm_proj_seq_1layer_h0", "LSTM", 3, 6, input_size=7, hidden_size=13, proj_size=5,
        has_state=True,
        description="LSTM proj_size 5, hidden 13, seq-first, 1 layer, batch 3, random (h0: proj_size cols, c0: hidden_size cols).")
    add("lstm_proj_bidir_2layer", "LSTM", 3, 5, input_size=7, hidden_size=13, proj_size=5,
        num_layers=2, bidirectional=True,
        description="LSTM proj_size 5, hidden 13, seq-first, 2 layers, bidirectional, batch 3, no initial state.")
    add("lstm_proj_bf", "LSTM", 5, 4, input_size=11, hidden_size=13, proj_size=5,
        batch_first=True,
        description="LSTM proj_size 5, hidden 13, batch-first, 1 layer, batch 5, no initial state.")
    add("lstm_proj_unbatched_h0", "LSTM", None, 6, input_size=7, hidden_size=13, proj_size=5,
        num_layers=2, has_state=True,
        description="LSTM proj_size 5, hidden 13, unbatched 2-D input, 2 layers, unbatched (h0, c0).")
    add("lstm_proj_nobias_bidir_2layer_h0", "LSTM", 3, 5, input_size=7, hidden_size=13,
        proj_size=5, num_layers=2, bias=False, bidirectional=True, has_state=True,
        description="LSTM proj_size 5, hidden 13, bias=False, 2 layers, bidirectional, batch 3, random (h0, c0).")

    # Dropout between layers must be a no-op in eval mode.
    add("lstm_dropout_2layer_eval_h0", "LSTM", 3, 6, input_size=7, hidden_size=13,
        num_layers=2, dropout=0.4, has_state=True,
        description="LSTM dropout=0.4, 2 layers, run in eval mode so dropout has no effect; random (h0, c0).")
    add("gru_dropout_2layer_eval", "GRU", 3, 6, input_size=7, hidden_size=13,
        num_layers=2, dropout=0.4, bidirectional=True,
        description="GRU dropout=0.4, 2 layers, bidirectional, run in eval mode so dropout has no effect; no initial state.")

    # Cells.
    cells = [("rnncell_tanh", "RNNCell", "tanh"), ("rnncell_relu", "RNNCell", "relu"),
             ("grucell", "GRUCell", "tanh"), ("lstmcell", "LSTMCell", "tanh")]
    for p, mod, nl in cells:
        name = f"{mod}" + (f"({nl})" if mod == "RNNCell" else "")
        add(f"{p}_2d_h0", mod, 5, None, input_size=7, hidden_size=13, nonlinearity=nl,
            has_state=True, description=f"{name}, 2-D input (N=5, H_in), random state.")
        add(f"{p}_2d", mod, 3, None, input_size=11, hidden_size=9, nonlinearity=nl,
            description=f"{name}, 2-D input (N=3, H_in), no state (zeros implied).")
        add(f"{p}_1d_h0", mod, None, None, input_size=7, hidden_size=13, nonlinearity=nl,
            has_state=True, description=f"{name}, unbatched 1-D input (H_in), 1-D random state.")
        add(f"{p}_1d", mod, None, None, input_size=11, hidden_size=9, nonlinearity=nl,
            description=f"{name}, unbatched 1-D input (H_in), no state.")
        add(f"{p}_nobias_h0", mod, 3, None, 3.0, input_size=11, hidden_size=37,
            nonlinearity=nl, bias=False, has_state=True,
            description=f"{name}, bias=False, 2-D input (N=3, H_in=11), hidden 37, random state.")


MODEL_SPECS = [
    ("lstm_bidir_2layer_proj4_bf_h0", 3, 5, dict(module="LSTM", input_size=6, hidden_size=11,
        num_layers=2, proj_size=4, batch_first=True, bidirectional=True, has_state=True,
        description="User-saved LSTM: 2 layers, bidirectional, proj_size 4, batch-first, with (h0, c0).")),
    ("gru_3layer_nobias", 4, 6, dict(module="GRU", input_size=7, hidden_size=9, num_layers=3,
        bias=False, description="User-saved GRU: 3 layers, bias=False, seq-first, no initial state.")),
    ("rnn_relu_bidir_2layer", 3, 5, dict(module="RNN", input_size=7, hidden_size=13,
        num_layers=2, nonlinearity="relu", bidirectional=True, has_state=True,
        description="User-saved RNN(relu): 2 layers, bidirectional, seq-first, with h0.")),
    ("lstm_1layer_h20_in16", 2, 7, dict(module="LSTM", input_size=16, hidden_size=20,
        description="User-saved LSTM: 1 layer, hidden 20, input 16, seq-first, no initial state.")),
]


# ----------------------------------------------------------------------------------
# variable-length (torch.nn.utils.rnn) cases, written into packed/
# ----------------------------------------------------------------------------------

PACKED_SUBDIR = "packed"
PACKED_SPECS = []  # (case_id, meta, seq_len, lengths)
UTIL_SPECS = []    # (util_id, kind, args, description)


def as_f32(t):
    """Integer-valued tensor (lengths, batch_sizes, indices) stored as exact F32."""
    assert t.dtype == torch.int64 and int(t.abs().max()) < 2 ** 24
    return t.to(torch.float32)


def as_i64(t, what):
    """Inverse of as_f32, checking the values really are integers."""
    i = t.to(torch.int64)
    assert torch.equal(i.to(torch.float32), t), f"{what}: not integer-valued"
    return i


def add_packed(case_id, module, seq_len, lengths, enforce_sorted, **cfg):
    meta = config_meta(module, **cfg)
    meta["enforce_sorted"] = b2s(enforce_sorted)
    if enforce_sorted:
        assert list(lengths) == sorted(lengths, reverse=True)
    assert max(lengths) <= seq_len and min(lengths) >= 1
    PACKED_SPECS.append((case_id, meta, seq_len, list(lengths)))


def run_packed(model, meta, x, lengths, h0=None, c0=None):
    """pack_padded_sequence -> module -> pad_packed_sequence; returns the expected tensors."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    bf = meta["batch_first"] == "true"
    es = meta["enforce_sorted"] == "true"
    with torch.no_grad():
        packed = pack_padded_sequence(x, lengths, batch_first=bf, enforce_sorted=es)
        if meta["module"] == "LSTM":
            y, (h, c) = model(packed, (h0, c0)) if h0 is not None else model(packed)
        else:
            y, h = model(packed, h0) if h0 is not None else model(packed)
            c = None
        padded, out_lengths = pad_packed_sequence(y, batch_first=bf)
    out = {"packed_input_data": packed.data, "batch_sizes": as_f32(packed.batch_sizes)}
    assert (packed.sorted_indices is None) == (packed.unsorted_indices is None) == es
    if packed.sorted_indices is not None:
        out["sorted_indices"] = as_f32(packed.sorted_indices)
        out["unsorted_indices"] = as_f32(packed.unsorted_indices)
    out.update({"packed_output_data": y.data, "output_padded": padded,
                "output_lengths": as_f32(out_lengths), "h_n": h})
    if c is not None:
        out["c_n"] = c
    return out


def make_packed_case(case_id, meta, seq_len, lengths):
    torch.manual_seed(seed_for(case_id))
    model = build_module(meta).float().eval()
    i, h = int(meta["input_size"]), int(meta["hidden_size"])
    n = len(lengths)
    bf = meta["batch_first"] == "true"
    # Padding positions hold randn too (not zeros): proves padding is ignored.
    x = torch.randn(n, seq_len, i) if bf else torch.randn(seq_len, n, i)
    inputs = {"input": x, "lengths": torch.tensor(lengths, dtype=torch.float32)}
    if meta["has_state"] == "true":
        d = 2 if meta["bidirectional"] == "true" else 1
        lead = (d * int(meta["num_layers"]), n)
        proj = int(meta["proj_size"])
        inputs["h0"] = torch.randn(*lead, proj if proj > 0 else h)
        if meta["module"] == "LSTM":
            inputs["c0"] = torch.randn(*lead, h)
    outputs = run_packed(model, meta, x, torch.tensor(lengths, dtype=torch.int64),
                         inputs.get("h0"), inputs.get("c0"))
    return model, inputs, outputs


def define_packed_cases():
    families = [("rnn_tanh", "RNN", "tanh", "RNN(tanh)"), ("gru", "GRU", "tanh", "GRU"),
                ("lstm", "LSTM", "tanh", "LSTM")]
    for p, mod, nl, name in families:
        add_packed(f"{p}_sorted", mod, 6, [6, 6, 5, 3, 1], True, input_size=7, hidden_size=9,
                   nonlinearity=nl,
                   description=f"{name} on pack_padded_sequence(enforce_sorted=True), seq-first, 1 layer, L 6, lengths [6,6,5,3,1], no initial state.")
        add_packed(f"{p}_unsorted_h0", mod, 7, [3, 7, 1, 5, 3, 7], False, input_size=7,
                   hidden_size=9, nonlinearity=nl, has_state=True,
                   description=f"{name} on pack_padded_sequence(enforce_sorted=False), seq-first, 1 layer, L 7, lengths [3,7,1,5,3,7], random initial state (caller order).")
        add_packed(f"{p}_bf_bidir_2layer_h0", mod, 5, [2, 5, 5, 1], False, input_size=5,
                   hidden_size=11, num_layers=2, nonlinearity=nl, batch_first=True,
                   bidirectional=True, has_state=True,
                   description=f"{name} on pack_padded_sequence(batch_first=True, enforce_sorted=False), 2 layers, bidirectional, L 5, lengths [2,5,5,1], random initial state (caller order).")
        add_packed(f"{p}_bidir_unsorted", mod, 8, [4, 6, 1, 6, 2], False, input_size=7,
                   hidden_size=9, nonlinearity=nl, bidirectional=True,
                   description=f"{name} on pack_padded_sequence(enforce_sorted=False), seq-first, 1 layer, bidirectional, L 8 but max(lengths) 6 so output_padded has 6 steps, lengths [4,6,1,6,2], no initial state.")
    add_packed("rnn_relu_unsorted_3layer_h0", "RNN", 6, [6, 2, 4, 2, 1], False, input_size=7,
               hidden_size=9, num_layers=3, nonlinearity="relu", has_state=True,
               description="RNN(relu) on pack_padded_sequence(enforce_sorted=False), seq-first, 3 layers, L 6, lengths [6,2,4,2,1], random initial state (caller order).")
    add_packed("lstm_proj_bidir_unsorted_h0", "LSTM", 7, [5, 7, 1, 5, 2], False, input_size=7,
               hidden_size=9, proj_size=4, bidirectional=True, has_state=True,
               description="LSTM proj_size 4, hidden 9, on pack_padded_sequence(enforce_sorted=False), seq-first, 1 layer, bidirectional, L 7, lengths [5,7,1,5,2], random (h0: proj_size cols, c0: hidden_size cols).")
    add_packed("lstm_proj_bf_sorted", "LSTM", 6, [6, 4, 4, 1], True, input_size=5,
               hidden_size=11, proj_size=3, batch_first=True,
               description="LSTM proj_size 3, hidden 11, on pack_padded_sequence(batch_first=True, enforce_sorted=True), 1 layer, L 6, lengths [6,4,4,1], no initial state.")
    add_packed("gru_nobias_unsorted_h0", "GRU", 5, [3, 5, 1, 3, 4], False, input_size=7,
               hidden_size=9, bias=False, has_state=True,
               description="GRU bias=False on pack_padded_sequence(enforce_sorted=False), seq-first, 1 layer, L 5, lengths [3,5,1,3,4], random initial state (caller order).")
    add_packed("lstm_all_equal_lengths_unsorted", "LSTM", 5, [5, 5, 5, 5], False, input_size=7,
               hidden_size=9,
               description="LSTM on pack_padded_sequence(enforce_sorted=False) with all lengths equal to L 5 (sorted_indices is the identity), seq-first, 1 layer, no initial state.")

    def util(uid, kind, args, desc):
        UTIL_SPECS.append((uid, kind, args, desc))

    for bf in (False, True):
        for pv in (0.0, -1.5):
            util(f"pad_sequence_2d_{'bf' if bf else 'seq'}_pad{'0' if pv == 0 else 'neg1p5'}",
                 "pad_sequence", dict(batch_first=bf, padding_value=pv, shapes=[(4, 3), (6, 3), (1, 3), (6, 3)]),
                 f"pad_sequence of 2-D sequences (len, 3), lengths [4,6,1,6], batch_first={bf}, padding_value={pv!r}.")
    for bf in (False, True):
        util(f"pad_sequence_1d_{'bf' if bf else 'seq'}", "pad_sequence",
             dict(batch_first=bf, padding_value=0.0, shapes=[(3,), (5,), (1,)]),
             f"pad_sequence of 1-D sequences (len,), lengths [3,5,1], batch_first={bf}, padding_value 0.0: 2-D result.")
        util(f"pad_sequence_3d_{'bf' if bf else 'seq'}", "pad_sequence",
             dict(batch_first=bf, padding_value=-1.5, shapes=[(2, 2, 3), (4, 2, 3), (3, 2, 3)]),
             f"pad_sequence of 3-D sequences (len, 2, 3), lengths [2,4,3], batch_first={bf}, padding_value -1.5: 4-D result.")
    util("pack_sequence_sorted", "pack_sequence",
         dict(enforce_sorted=True, shapes=[(5, 3), (3, 3), (3, 3), (1, 3)]),
         "pack_sequence(enforce_sorted=True) of sorted 2-D sequences (len, 3), lengths [5,3,3,1]; no sorted/unsorted indices.")
    util("pack_sequence_unsorted", "pack_sequence",
         dict(enforce_sorted=False, shapes=[(2, 3), (5, 3), (2, 3), (4, 3), (1, 3)]),
         "pack_sequence(enforce_sorted=False) of unsorted 2-D sequences (len, 3) with ties, lengths [2,5,2,4,1].")
    for bf in (False, True):
        util(f"pad_packed_{'bf' if bf else 'seq'}", "pad_packed",
             dict(batch_first=bf, padding_value=2.5, total_length=8, seq_len=6,
                  lengths=[3, 5, 1, 3], features=3),
             f"pad_packed_sequence(batch_first={bf}, padding_value=2.5, total_length=8) of a PackedSequence "
             "built by pack_padded_sequence(enforce_sorted=False) from a random padded input with L 6, lengths [3,5,1,3], 3 features.")


def run_util(kind, meta, t):
    """Recompute a utility case's expected tensors from its inputs + metadata."""
    from torch.nn.utils.rnn import (PackedSequence, pack_sequence, pad_packed_sequence,
                                    pad_sequence)
    seqs = [t[f"seq.{k}"] for k in range(sum(1 for n in t if n.startswith("seq.")))]
    if kind == "pad_sequence":
        return {"padded": pad_sequence(seqs, batch_first=meta["batch_first"] == "true",
                                       padding_value=float(meta["padding_value"]))}
    if kind == "pack_sequence":
        p = pack_sequence(seqs, enforce_sorted=meta["enforce_sorted"] == "true")
        out = {"data": p.data, "batch_sizes": as_f32(p.batch_sizes)}
        if p.sorted_indices is not None:
            out["sorted_indices"] = as_f32(p.sorted_indices)
            out["unsorted_indices"] = as_f32(p.unsorted_indices)
        return out
    if kind == "pad_packed":
        idx = {k: as_i64(t[k], k) if k in t else None
               for k in ("sorted_indices", "unsorted_indices")}
        p = PackedSequence(t["packed_data"], as_i64(t["batch_sizes"], "batch_sizes"),
                           idx["sorted_indices"], idx["unsorted_indices"])
        tl = None if meta["total_length"] == "none" else int(meta["total_length"])
        padded, lengths = pad_packed_sequence(p, batch_first=meta["batch_first"] == "true",
                                              padding_value=float(meta["padding_value"]),
                                              total_length=tl)
        return {"padded": padded, "lengths": as_f32(lengths)}
    raise ValueError(kind)


def make_util_case(uid, kind, args, desc):
    from torch.nn.utils.rnn import pack_padded_sequence
    torch.manual_seed(seed_for("util_" + uid))
    meta = {"kind": kind, "description": desc, "torch_version": torch.__version__}
    t = {}
    if kind in ("pad_sequence", "pack_sequence"):
        for k, s in enumerate(args["shapes"]):
            t[f"seq.{k}"] = torch.randn(*s)
    if kind == "pad_sequence":
        meta.update(batch_first=b2s(args["batch_first"]),
                    padding_value=repr(float(args["padding_value"])))
    elif kind == "pack_sequence":
        meta["enforce_sorted"] = b2s(args["enforce_sorted"])
    elif kind == "pad_packed":
        bf, L, n = args["batch_first"], args["seq_len"], len(args["lengths"])
        x = torch.randn(n, L, args["features"]) if bf else torch.randn(L, n, args["features"])
        p = pack_padded_sequence(x, args["lengths"], batch_first=bf, enforce_sorted=False)
        t.update(packed_data=p.data, batch_sizes=as_f32(p.batch_sizes),
                 sorted_indices=as_f32(p.sorted_indices),
                 unsorted_indices=as_f32(p.unsorted_indices))
        meta.update(batch_first=b2s(bf), padding_value=repr(float(args["padding_value"])),
                    total_length=str(args["total_length"]))
    with torch.no_grad():
        t.update(run_util(kind, meta, t))
    return meta, t


# ----------------------------------------------------------------------------------
# dtype file
# ----------------------------------------------------------------------------------

def dtype_values():
    return [
        1.0, -2.0, 1.0 / 3.0, -1.0 / 3.0, 0.5, 0.1, -0.1, 2.0 / 3.0, 3.141592653589793,
        65504.0,            # f16 max; bf16 rounds it to 65536
        65520.0,            # rounds to inf in f16
        1e5,                # overflows f16
        -70000.0,
        1e-8,               # below f16 min subnormal -> 0 in f16
        6e-5,               # f16 subnormal
        6.103515625e-05,    # f16 min normal (2^-14)
        5.960464477539063e-08,  # f16 min subnormal (2^-24)
        -0.0, 0.0,
        float("inf"), float("-inf"),
        1.0009765625,       # 1 + 2^-10: exact in f16, bf16 rounds to 1.0
        1.00048828125,      # 1 + 2^-11: f16 tie -> even (1.0)
        1.00390625,         # 1 + 2^-8: exact in f16, bf16 tie -> even (1.0)
        1.01171875,         # 1 + 3*2^-8: exact in f16, bf16 tie -> even (1.015625)
        255.5,              # exact in f16, bf16 -> 256
        1.0 + 2.0 ** -24,   # f64->f32 tie, rounds to 1.0
        1.0 + 3 * 2.0 ** -24,  # f64->f32 tie, rounds up to even
        3.0e38, 1.0e39,     # 1e39 overflows f32 -> inf
        1e-40,              # f32 subnormal
        1e-46,              # underflows f32 -> 0
        123456.789, -0.000123, 2049.0, 4097.0, 1e10, -1e-3, 0.2, 7.0, -13.25,
    ]


def dtype_tensors():
    x64 = torch.tensor(dtype_values(), dtype=torch.float64)
    x32 = x64.to(torch.float32)
    x16 = x64.to(torch.float16)
    xbf = x64.to(torch.bfloat16)
    return {
        "x_f32": x32, "x_f64": x64, "x_f16": x16, "x_bf16": xbf,
        "expected_from_f64": x64.to(torch.float32),
        "expected_from_f16": x16.to(torch.float32),
        "expected_from_bf16": xbf.to(torch.float32),
    }


# ----------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------

def same(a, b):
    """Bitwise equality (handles -0.0 and infinities)."""
    if a.dtype != b.dtype or tuple(a.shape) != tuple(b.shape):
        return False
    if a.dtype == torch.bfloat16:
        return torch.equal(a.view(torch.int16), b.view(torch.int16))
    return a.numpy().tobytes() == b.numpy().tobytes()


def main(argv):
    verify = "--verify" in argv
    os.makedirs(os.path.join(OUT_DIR, PACKED_SUBDIR), exist_ok=True)
    define_cases()
    define_packed_cases()
    written = {}  # file name -> (metadata, tensors)
    total = 0

    def emit(fname, tensors, meta, summary):
        nonlocal total
        path = os.path.join(OUT_DIR, fname)
        n = write_safetensors(path, tensors, meta)
        total += n
        written[fname] = (meta, {k: v.detach().clone() for k, v in tensors.items()})
        print(f"{fname:48s} {n:7d} B  {summary}")

    for case_id, meta, batch, seq_len, scale in CASE_SPECS:
        model, inputs, outputs = make_case(case_id, meta, batch, seq_len, scale)
        tensors = {f"param.{k}": v for k, v in model.state_dict().items()}
        tensors.update(inputs)
        tensors.update(outputs)
        summ = " ".join(f"{k}={shape_str(v)}" for k, v in list(inputs.items()) + list(outputs.items()))
        emit(f"{case_id}.safetensors", tensors, meta, summ)

    for mid, batch, seq_len, cfg in MODEL_SPECS:
        cfg = dict(cfg)
        module = cfg.pop("module")
        meta = config_meta(module, **cfg)
        model, inputs, outputs = make_case("model_" + mid, meta, batch, seq_len)
        sd = model.state_dict()
        emit(f"model_{mid}.safetensors", dict(sd), {"format": "pt"},
             f"state_dict: {len(sd)} tensors")
        io = dict(inputs)
        io.update(outputs)
        emit(f"model_{mid}.io.safetensors", io, meta,
             " ".join(f"{k}={shape_str(v)}" for k, v in io.items()))

    emit("dtypes.safetensors", dtype_tensors(), {"format": "pt",
         "description": "Same values as F32/F64/F16/BF16; expected_from_* = torch .to(float32).",
         "torch_version": torch.__version__}, f"{len(dtype_values())} values x 7 tensors")

    for case_id, meta, seq_len, lengths in PACKED_SPECS:
        model, inputs, outputs = make_packed_case(case_id, meta, seq_len, lengths)
        tensors = {f"param.{k}": v for k, v in model.state_dict().items()}
        tensors.update(inputs)
        tensors.update(outputs)
        summ = " ".join(f"{k}={shape_str(v)}" for k, v in list(inputs.items()) + list(outputs.items())
                        if k != "lengths")
        emit(f"{PACKED_SUBDIR}/{case_id}.safetensors", tensors, meta, summ)

    for uid, kind, args, desc in UTIL_SPECS:
        meta, tensors = make_util_case(uid, kind, args, desc)
        emit(f"{PACKED_SUBDIR}/util_{uid}.safetensors", tensors, meta,
             " ".join(f"{k}={shape_str(v)}" for k, v in tensors.items()))

    print(f"{len(written)} files, {total} bytes total -> {OUT_DIR}")

    if verify:
        do_verify(written)


def do_verify(written):
    on_disk = sorted([f for f in os.listdir(OUT_DIR) if f.endswith(".safetensors")] +
                     [f"{PACKED_SUBDIR}/{f}" for f in os.listdir(os.path.join(OUT_DIR, PACKED_SUBDIR))])
    assert on_disk == sorted(written), f"stale/missing files: {set(on_disk) ^ set(written)}"
    for fname, (meta, tensors) in sorted(written.items()):
        rmeta, rt = read_safetensors(os.path.join(OUT_DIR, fname))
        assert rmeta == meta, f"{fname}: metadata differs"
        assert sorted(rt) == sorted(tensors), f"{fname}: tensor names differ"
        for k in tensors:
            assert same(rt[k], tensors[k]), f"{fname}:{k}: values differ"
        if fname.startswith(PACKED_SUBDIR + "/"):
            verify_packed(fname, rmeta, rt)
            continue
        # Independent re-run: rebuild the module from the file alone and recompute.
        if "module" in rmeta:
            prefix = "" if fname.startswith("model_") else "param."
            sd_file = (read_safetensors(os.path.join(OUT_DIR, fname.replace(".io.", ".")))[1]
                       if fname.startswith("model_") else rt)
            model = build_module(rmeta).eval()
            sd = {k[len(prefix):]: v for k, v in sd_file.items() if k.startswith(prefix)}
            model.load_state_dict(sd, strict=True)
            ins = {k: rt[k] for k in ("input", "h0", "c0") if k in rt}
            assert ("h0" in ins) == (rmeta["has_state"] == "true"), f"{fname}: has_state"
            outs = run(model, rmeta, ins)
            for k, v in outs.items():
                assert same(v, rt[k]), f"{fname}:{k}: re-run differs"
    # Dtype sanity checks.
    _, d = read_safetensors(os.path.join(OUT_DIR, "dtypes.safetensors"))
    assert not any(torch.isnan(v.float()).any() for v in d.values())
    for src in ("f64", "f16", "bf16"):
        assert same(d[f"x_{src}"].to(torch.float32), d[f"expected_from_{src}"])
    n_packed = sum(1 for f in written if f.startswith(PACKED_SUBDIR + "/"))
    packed_bytes = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in written
                       if f.startswith(PACKED_SUBDIR + "/"))
    assert packed_bytes < 600 * 1024, f"{PACKED_SUBDIR}/ too large: {packed_bytes} B"
    print(f"verify: OK ({len(written)} files; {n_packed} in {PACKED_SUBDIR}/, {packed_bytes} B)")


PACKED_META_KEYS = sorted(config_meta("RNN", 1, 1)) + ["enforce_sorted"]
UTIL_META_KEYS = {"pad_sequence": ["batch_first", "padding_value"],
                  "pack_sequence": ["enforce_sorted"],
                  "pad_packed": ["batch_first", "padding_value", "total_length"]}


def verify_packed(fname, meta, t):
    """Re-check one packed/ file from its contents alone."""
    if "kind" in meta:
        kind = meta["kind"]
        assert sorted(meta) == sorted(["kind", "description", "torch_version"] +
                                      UTIL_META_KEYS[kind]), f"{fname}: metadata keys"
        with torch.no_grad():
            exp = run_util(kind, meta, t)
        for k, v in exp.items():
            assert same(v, t[k]), f"{fname}:{k}: re-run differs"
        ins = {"pad_sequence": lambda k: k.startswith("seq."),
               "pack_sequence": lambda k: k.startswith("seq."),
               "pad_packed": lambda k: k in ("packed_data", "batch_sizes", "sorted_indices",
                                             "unsorted_indices")}[kind]
        assert sorted(t) == sorted([k for k in t if ins(k)] + list(exp)), f"{fname}: extra tensors"
        return
    assert sorted(meta) == sorted(PACKED_META_KEYS), f"{fname}: metadata keys"
    model = build_module(meta).eval()
    model.load_state_dict({k[6:]: v for k, v in t.items() if k.startswith("param.")}, strict=True)
    assert ("h0" in t) == (meta["has_state"] == "true"), f"{fname}: has_state"
    x, lengths = t["input"], as_i64(t["lengths"], "lengths")
    bf = meta["batch_first"] == "true"
    n, L = (x.shape[0], x.shape[1]) if bf else (x.shape[1], x.shape[0])
    assert lengths.shape == (n,) and int(lengths.min()) >= 1 and int(lengths.max()) <= L
    exp = run_packed(model, meta, x, lengths, t.get("h0"), t.get("c0"))
    for k, v in exp.items():
        assert same(v, t[k]), f"{fname}:{k}: re-run differs"
    names = [k for k in t if k.startswith("param.")] + ["input", "lengths"] + \
        [k for k in ("h0", "c0") if k in t] + list(exp)
    assert sorted(t) == sorted(names), f"{fname}: unexpected tensor names"
    # Semantics check, independent of packing: each sequence run alone (unbatched, its
    # own length, its own initial state) must match output_padded / h_n / c_n.
    out, ol = t["output_padded"], as_i64(t["output_lengths"], "output_lengths")
    assert torch.equal(ol, lengths), f"{fname}: output_lengths != lengths"
    assert out.shape[1 if bf else 0] == int(lengths.max()), f"{fname}: padded length"
    lstm = meta["module"] == "LSTM"
    with torch.no_grad():
        for b in range(n):
            lb = int(lengths[b])
            xb = x[b, :lb] if bf else x[:lb, b]
            st = None
            if "h0" in t:
                st = (t["h0"][:, b], t["c0"][:, b]) if lstm else t["h0"][:, b]
            y, s = model(xb, st) if st is not None else model(xb)
            ob = out[b] if bf else out[:, b]
            assert torch.allclose(y, ob[:lb], atol=1e-5), f"{fname}: seq {b} output"
            assert (ob[lb:] == 0).all(), f"{fname}: seq {b} padding not zero"
            h, c = s if lstm else (s, None)
            assert torch.allclose(h, t["h_n"][:, b], atol=1e-5), f"{fname}: seq {b} h_n"
            if lstm:
                assert torch.allclose(c, t["c_n"][:, b], atol=1e-5), f"{fname}: seq {b} c_n"


if __name__ == "__main__":
    main(sys.argv[1:])
