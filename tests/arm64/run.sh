#!/usr/bin/env bash
# Runs the test suite as Arm64 code on this x64 machine: Arm64Runner (the tests in-process, see Program.cs) published
# self-contained for linux-arm64 and run under qemu's user-mode emulation, so the kernels run their AdvSimd paths
# (Vector128 with fused multiply-adds, Arm's rounding and NaN rules) as on an Arm64 edge box, about 12 times slower.
# Installs qemu-user-static and the arm64 C and C++ runtime libraries from Debian when missing (needs root, as CI has).
# Arguments: substrings of test class names to run only those. Ends with "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v qemu-aarch64-static >/dev/null || [ ! -e /lib/ld-linux-aarch64.so.1 ] || [ ! -e /usr/lib/aarch64-linux-gnu/libstdc++.so.6 ]; then
  echo "installing qemu-user-static and the arm64 runtime libraries (Debian packages)"
  dpkg --add-architecture arm64
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 >/dev/null
fi

# Inside the repository, so that the tests that read its files (the approved public API) find them.
out=bin/publish-arm64
dotnet publish Arm64Runner.csproj -c Release -r linux-arm64 --self-contained -o "$out" -nologo -v quiet
# -L /: the arm64 loader and libraries where Debian's multiarch packages put them. W^X off: with it the runtime writes
# compiled code through a second mapping of its pages, which qemu does not see, so it kept running stale translations of
# them (tests failed at random with NullReferenceException from their first instruction, and the process crashed).
# At most 45 minutes (a full run takes ~10): a hang ends without the closing line, which CI counts as a failure.
DOTNET_EnableWriteXorExecute=0 timeout 2700 qemu-aarch64-static -L / "$out/Arm64Runner" "$@"
