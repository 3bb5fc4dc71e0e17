#!/usr/bin/env bash
# Checks the shipped package the way a user gets it: packs src/Recurrent into a temporary local feed, verifies the
# .nupkg's contents, then builds a fresh console project OUTSIDE the repository that references package Recurrent by
# version (not a project reference), with README.md's quick-start example as its Program.cs, runs it and compares
# its output with README.md's quick-start output block. Then does the same with a NativeAOT publish (skip with
# --no-aot). Restores into a temporary packages folder, so no stale copy of the package from ~/.nuget/packages is
# used. Exits non-zero, with a diff, on any difference.
#
#   bash tests/package/check-package.sh [--no-aot]
set -euo pipefail

aot=1
for arg in "$@"; do
  case "$arg" in
    --no-aot) aot=0 ;;
    *) echo "usage: $0 [--no-aot]" >&2; exit 2 ;;
  esac
done

repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/tests/package"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

work=$(mktemp -d "${TMPDIR:-/tmp}/recurrent-package-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
feed="$work/feed" app="$work/consumer" packages="$work/packages"
mkdir -p "$feed" "$app" "$packages"
step() { echo "== package check: $*"; }
fail() { echo "package check FAILED: $*" >&2; exit 1; }

# Prints the body of the fenced block that follows the marker line "<!-- $1 -->" in README.md.
readme_block() {
  awk -v marker="<!-- $1 -->" '
    $0 == marker { found = 1; next }
    found && !inside && /^```/ { inside = 1; next }
    inside && /^```/ { exit }
    inside { print }' "$repo/README.md"
}

step "dotnet pack src/Recurrent -c Release -o $feed"
dotnet pack "$repo/src/Recurrent/Recurrent.csproj" -c Release -o "$feed" -v quiet -nologo
nupkg=$(find "$feed" -name 'Recurrent.*.nupkg' ! -name '*.snupkg' | head -n 1)
[ -n "$nupkg" ] || fail "dotnet pack produced no Recurrent .nupkg"
version=$(basename "$nupkg" .nupkg); version=${version#Recurrent.}
[ -f "$feed/Recurrent.$version.snupkg" ] || fail "no symbols package Recurrent.$version.snupkg"

step "contents of $(basename "$nupkg")"
entries=$(unzip -Z1 "$nupkg" | sort)
sed 's/^/   /' <<<"$entries"
for entry in lib/net10.0/Recurrent.dll lib/net10.0/Recurrent.xml README.md Recurrent.nuspec build/Recurrent.targets buildTransitive/Recurrent.targets; do
  grep -qxF "$entry" <<<"$entries" || fail "$entry missing from $(basename "$nupkg")"
done
nuspec=$(unzip -p "$nupkg" Recurrent.nuspec)
for field in '<authors>' '<description>' '<license type="expression">MIT</license>' '<readme>README.md</readme>' \
             '<tags>' '<releaseNotes>' '<repository type="git"' 'id="System.Numerics.Tensors"'; do
  grep -qF "$field" <<<"$nuspec" || fail "nuspec has no $field"
done

step "fresh consumer in $app referencing Recurrent $version from the local feed"
# The sources this machine has configured (seen from a directory outside the repository), kept as they are; the
# consumer's nuget.config adds the local feed and maps package Recurrent to it alone, everything else to them.
mapfile -t sources < <(cd "$app" && dotnet nuget list source | sed -nE 's/^ *[0-9]+\. +(.*) \[Enabled\]$/\1/p')
[ "${#sources[@]}" -gt 0 ] || fail "no enabled NuGet source is configured (dotnet nuget list source)"
xml() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' <<<"$1"; }
{
  echo '<?xml version="1.0" encoding="utf-8"?>'
  echo '<configuration>'
  echo '  <config>'
  echo "    <add key=\"globalPackagesFolder\" value=\"$(xml "$packages")\" />"
  echo '  </config>'
  echo '  <packageSources>'
  echo "    <add key=\"recurrent-local-feed\" value=\"$(xml "$feed")\" />"
  echo '  </packageSources>'
  echo '  <packageSourceMapping>'
  echo '    <packageSource key="recurrent-local-feed"><package pattern="Recurrent" /></packageSource>'
  for s in "${sources[@]}"; do
    echo "    <packageSource key=\"$(xml "$s")\"><package pattern=\"*\" /></packageSource>"
  done
  echo '  </packageSourceMapping>'
  echo '</configuration>'
} >"$app/nuget.config"
sed 's/^/   /' "$app/nuget.config"
cp "$here/consumer.csproj" "$app/consumer.csproj"
readme_block "example: quick-start" >"$app/Program.cs"
readme_block "output: quick-start" >"$work/expected.txt"
[ -s "$app/Program.cs" ] || fail "README.md has no <!-- example: quick-start --> block"
[ -s "$work/expected.txt" ] || fail "README.md has no <!-- output: quick-start --> block"

step "dotnet restore + build (Release) of the consumer"
dotnet restore "$app" -p:RecurrentVersion="$version" -v quiet -nologo
# The package restored must be the one just packed, not a copy from anywhere else.
cmp -s "$nupkg" "$packages/recurrent/$version/recurrent.$version.nupkg" \
  || fail "the consumer did not restore the freshly packed $(basename "$nupkg")"
dotnet build "$app" -c Release --no-restore -p:RecurrentVersion="$version" -v quiet -nologo

compare() {  # $1: label, $2: file holding the program's stdout
  if ! diff -u --label "README.md <!-- output: quick-start -->" --label "$1" "$work/expected.txt" "$2"; then
    fail "$1: output differs from README.md's quick-start output (diff above)"
  fi
  echo "   $1: output matches README.md ($(wc -l <"$2") lines)"
}

step "run the consumer (JIT)"
dotnet "$app/bin/Release/net10.0/consumer.dll" >"$work/jit.txt"
compare "consumer (JIT)" "$work/jit.txt"

# The package's targets warn a NativeAOT publish for x64 that leaves IlcInstructionSet unset (its default has no AVX2
# and no FMA, and the layers then run 2-9x slower): run that check alone, as such a publish would, and expect it.
step "RECURRENT001: a NativeAOT publish for linux-x64 without IlcInstructionSet is warned"
if check=$(dotnet msbuild "$app" -t:RecurrentCheckInstructionSet -p:PublishAot=true -p:RuntimeIdentifier=linux-x64 \
    -p:RecurrentVersion="$version" -nologo 2>&1); then :; fi
grep -q "RECURRENT001" <<<"$check" || { echo "$check" >&2; fail "no RECURRENT001 warning for PublishAot without IlcInstructionSet"; }
if check=$(dotnet msbuild "$app" -t:RecurrentCheckInstructionSet -p:PublishAot=true -p:RuntimeIdentifier=linux-x64 \
    -p:IlcInstructionSet=x86-64-v3 -p:RecurrentVersion="$version" -nologo 2>&1); then :; fi
! grep -q "RECURRENT001" <<<"$check" || { echo "$check" >&2; fail "RECURRENT001 despite IlcInstructionSet=x86-64-v3"; }
echo "   warned without IlcInstructionSet, silent with it"

if [ "$aot" -eq 1 ]; then
  rid=linux-x64
  step "dotnet publish -c Release -r $rid -p:PublishAot=true -p:IlcInstructionSet=x86-64-v3 (NativeAOT, as README.md says)"
  dotnet publish "$app" -c Release -r "$rid" -p:PublishAot=true -p:IlcInstructionSet=x86-64-v3 -p:RecurrentVersion="$version" \
    -o "$work/aot" -v quiet -nologo
  "$work/aot/consumer" >"$work/aot.txt"
  compare "consumer (NativeAOT, $rid)" "$work/aot.txt"
fi

step "OK: Recurrent $version packs, restores from a local feed and runs README.md's quick start$([ "$aot" -eq 1 ] && echo ', JIT and NativeAOT')"
