#!/bin/sh
# The C sources git tracks, formatted as .clang-format says: prints the
# places that differ and fails.  `clang-format -i FILE` fixes one.
# Usage: check-format.sh SOURCE_ROOT [CLANG_FORMAT]
set -eu
root=$1
cf=${2:-clang-format}
if ! command -v "$cf" >/dev/null 2>&1; then
    echo "check-format: $cf not found (scripts/deps.sh installs clang-format)" >&2
    exit 1
fi
cd "$root"
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "check-format: $root is not a git checkout; cannot tell which files are ours" >&2
    exit 1
fi
files=$(git ls-files '*.c' '*.h')
[ -n "$files" ] || { echo "check-format: no C files under $root" >&2; exit 1; }
# shellcheck disable=SC2086
"$cf" --dry-run --Werror $files
echo "check-format: $(echo "$files" | wc -l) files as .clang-format says"
