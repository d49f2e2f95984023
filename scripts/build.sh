#!/bin/sh
# Builds the production operator: type-checks src/ (tsc), then bundles src/main.ts and every
# dependency it imports into one ES module, <out>/main.js (default dist/), with a source map.
# The one description of these steps: `npm run build` (so `make build`), the Dockerfile's build
# stage and test/unit/packaging/production-install.test.ts run it.
#
# Why one file: @kubernetes/client-node is some 2,800 modules (one per API model). Loaded one
# by one, Node keeps a module record, a compiled top level and the source text for each; the
# operator with no cluster had 3.4 times the RSS of a bare Node process. Bundled, that is about
# 40 MiB less (docs/benchmarks.md, "Footprint and scale").
# Whitespace and syntax are minified, names are not: stack traces still name their functions.
# esbuild is a devDependency of its own (tsx also brings it). The banner gives the bundled
# CommonJS dependencies (winston, prom-client, undici) a `require` for Node's built-in modules.
set -eu
out=$(realpath -m "${1:-dist}")
cd "$(dirname "$0")/.."
bin=node_modules/.bin
"$bin/tsc" -p tsconfig.build.json --noEmit
rm -rf "$out"
"$bin/esbuild" src/main.ts --bundle --platform=node --format=esm --target=node24 \
	--minify-whitespace --minify-syntax --sourcemap --log-level=warning \
	"--banner:js=import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" \
	--outfile="$out/main.js"
