#!/usr/bin/env -S /usr/bin/python3
"""PyTorch as a peer of the compare command (benchmarks/Recurrent.Benchmarks/Compare/).

The command calls this script once per shape and thread count:

    OPENBLAS_NUM_THREADS=T /usr/bin/python3 benchmarks/pytorch_peer.py --case CASE.safetensors --threads T \
        --tolerance 1e-3 --warmup-runs 1 --warmup-seconds 0.3 --min-runs 5 --min-seconds 0.5 --max-runs 20000

CASE.safetensors (written by CaseFile.cs) holds the layer's weights as `param.<PyTorch name>`, the input `input`
(L, N, H_in), our library's outputs `expected.output`, `expected.h_n`, `expected.c_n`, and the layer's configuration
in `__metadata__`. The script builds torch.nn.LSTM/GRU/RNN, loads those weights (strictly), checks its outputs
against ours, and only if they agree within the tolerance times it the way RunTimer.cs does: warm up, then timed
runs until both the minimum count and the minimum time are reached; the median run is reported.

A run is one forward from zero states over the whole sequence, or, when metadata `streaming` is "true", a Python
loop of L one-step calls carrying the state, as a user streaming with PyTorch would write it.

It prints one JSON line on stdout (the keys of WorkerResult.cs), e.g.
    {"status": "ok", "version": "1.13.1", "median_ms": 12.2, "runs": 41, "max_abs_diff": 2.4e-07,
     "baseline_mib": 180.2, "peak_mib": 190.5}
Memory is the process's peak resident set, VmHWM in /proc/self/status as the .NET workers read it: once torch is
imported and before the case is read (baseline), and at the end (peak). Not ru_maxrss: Linux carries that over from
the parent across fork and exec, so it would start at the compare command's own size. Needs torch and numpy only.
"""

import argparse
import json
import math
import resource
import struct
import sys
import time

import numpy as np
import torch


def read_safetensors(path):
    """(metadata, {name: float32 numpy array}) of a SafeTensors file holding F32 tensors only."""
    with open(path, "rb") as f:
        raw = f.read()
    (header_length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_length].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = raw[8 + header_length:]
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"]).copy()
    return metadata, tensors


def build_module(metadata, tensors):
    """The torch module the case describes, in eval mode, with the case's weights loaded strictly."""
    config = dict(input_size=int(metadata["input_size"]), hidden_size=int(metadata["hidden_size"]),
                  num_layers=int(metadata["num_layers"]), bidirectional=metadata["bidirectional"] == "true")
    cell = metadata["cell"]
    if cell == "lstm":
        module = torch.nn.LSTM(**config)
    elif cell == "gru":
        module = torch.nn.GRU(**config)
    else:
        module = torch.nn.RNN(nonlinearity=metadata["nonlinearity"], **config)
    prefix = "param."
    state = {name[len(prefix):]: torch.from_numpy(value) for name, value in tensors.items() if name.startswith(prefix)}
    module.load_state_dict(state, strict=True)
    return module.eval()


def make_run(module, x, streaming, is_lstm):
    """A function doing one timed run and returning (output, h_n, c_n or None)."""
    if not streaming:
        def run_forward():
            output, state = module(x)
            return (output, state[0], state[1]) if is_lstm else (output, state, None)
        return run_forward

    steps = x.shape[0]

    def run_streaming():
        state = None  # zeros, as PyTorch takes a missing state
        outputs = []
        for t in range(steps):
            y, state = module(x[t:t + 1], state)
            outputs.append(y)
        output = torch.cat(outputs)
        return (output, state[0], state[1]) if is_lstm else (output, state, None)
    return run_streaming


def max_abs_diff(results, tensors):
    """Largest |ours - theirs| over output, h_n, c_n; inf on a shape mismatch or a NaN."""
    expected = [tensors["expected.output"], tensors["expected.h_n"], tensors.get("expected.c_n")]
    worst = 0.0
    for actual, wanted in zip(results, expected):
        if wanted is None:
            continue
        actual = actual.detach().numpy()
        if actual.shape != wanted.shape:
            return float("inf")
        diff = float(np.max(np.abs(actual.astype(np.float64) - wanted.astype(np.float64)))) if actual.size else 0.0
        worst = float("inf") if np.isnan(diff) else max(worst, diff)
    return worst


def measure(run, warmup_runs, warmup_seconds, min_runs, min_seconds, max_runs):
    """RunTimer.Measure in Python: (median milliseconds, timed runs)."""
    start = time.perf_counter()
    done = 0
    while done < warmup_runs or time.perf_counter() - start < warmup_seconds:
        run()
        done += 1
    times = []
    total = 0.0
    while (len(times) < min_runs or total < min_seconds) and len(times) < max_runs:
        begin = time.perf_counter()
        run()
        elapsed = time.perf_counter() - begin
        times.append(elapsed * 1000.0)
        total += elapsed
    times.sort()
    middle = len(times) // 2
    median = times[middle] if len(times) % 2 == 1 else (times[middle - 1] + times[middle]) / 2
    return median, len(times)


def scientific(value, decimals):
    """1.23E-7, as the C# side writes numbers ("0.00E0"), not Python's 1.23E-07."""
    if not np.isfinite(value):
        return str(value)
    mantissa, exponent = f"{value:.{decimals}E}".split("E")
    return f"{mantissa}E{int(exponent)}"


def peak_mib():
    """VmHWM (peak resident set) of this process in MiB; ru_maxrss where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--tolerance", type=float, required=True)
    parser.add_argument("--warmup-runs", type=int, required=True)
    parser.add_argument("--warmup-seconds", type=float, required=True)
    parser.add_argument("--min-runs", type=int, required=True)
    parser.add_argument("--min-seconds", type=float, required=True)
    parser.add_argument("--max-runs", type=int, required=True)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    baseline = peak_mib()
    metadata, tensors = read_safetensors(args.case)
    module = build_module(metadata, tensors)
    x = torch.from_numpy(tensors["input"])
    run = make_run(module, x, metadata["streaming"] == "true", metadata["cell"] == "lstm")
    result = {"version": torch.__version__, "baseline_mib": baseline}
    with torch.inference_mode():
        # The check comes first: outputs that differ from ours are not timed.
        diff = max_abs_diff(run(), tensors)
        if not diff <= args.tolerance:
            result.update(status="check-failed", reason=f"max |Δ| = {scientific(diff, 2)} > {scientific(args.tolerance, 0)}",
                          max_abs_diff=diff, peak_mib=peak_mib())
            return result
        median, runs = measure(run, args.warmup_runs, args.warmup_seconds, args.min_runs, args.min_seconds,
                               args.max_runs)
        diff = max(diff, max_abs_diff(run(), tensors))
    if not diff <= args.tolerance:
        # Outputs that went wrong while timed fail the shape as a failed first check does.
        result.update(status="check-failed",
                      reason=f"max |Δ| = {scientific(diff, 2)} > {scientific(args.tolerance, 0)} after timing",
                      max_abs_diff=diff, peak_mib=peak_mib())
        return result
    result.update(status="ok", median_ms=median, runs=runs, max_abs_diff=diff, peak_mib=peak_mib())
    return result


if __name__ == "__main__":
    try:
        outcome = main()
        code = 0
    except Exception as error:  # reported to the command, which shows it in the table and goes on
        outcome = {"status": "error", "reason": f"{type(error).__name__}: {error}"}
        code = 1
    # Non-finite numbers as the strings System.Text.Json reads (json.dumps would write bare NaN / Infinity, which is
    # not JSON, and the command would lose the result and its reason).
    outcome = {key: (("NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity")
                     if isinstance(value, float) and not math.isfinite(value) else value)
               for key, value in outcome.items()}
    print(json.dumps(outcome, allow_nan=False), flush=True)
    sys.exit(code)
