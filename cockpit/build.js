#!/usr/bin/env node
// Builds the page into dist/ the way Cockpit's starter-kit does: esbuild
// bundles src/index.jsx (React, PatternFly) into index.js and index.css;
// index.html and manifest.json are copied beside them.  cockpit.js is not
// bundled: index.html loads the one the running Cockpit serves
// (../base1/cockpit.js), so the page speaks the bridge's protocol version.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = process.argv[2] || join(here, "dist");

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await build({
    entryPoints: [join(here, "src", "index.jsx")],
    bundle: true,
    minify: true,
    sourcemap: false,
    target: ["es2020"],
    outdir,
    entryNames: "index",
    legalComments: "external",
    loader: { ".js": "jsx", ".woff": "file", ".woff2": "file", ".ttf": "file", ".otf": "file",
              ".eot": "file", ".svg": "file", ".png": "file", ".jpg": "file", ".gif": "file" },
    assetNames: "fonts/[name]",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
});
for (const f of ["index.html", "manifest.json"])
    copyFileSync(join(here, "src", f), join(outdir, f));
console.log(`cockpit-hotcpu built in ${outdir}`);
