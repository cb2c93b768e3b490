#!/bin/sh
# build.sh OUTDIR: the Cockpit page built into OUTDIR (index.html,
# manifest.json, index.js, index.css, fonts/), as the packages install it
# under /usr/share/cockpit/hotcpu.  Installs the npm packages of
# package-lock.json first when they are not there (npm ci: exactly those
# versions), so it needs the npm registry once.  Needs node >= 18 and npm.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: cockpit/build.sh OUTDIR}
if [ ! -d "$here/node_modules/esbuild" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
node "$here/build.js" "$out"
