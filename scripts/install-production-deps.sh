#!/bin/sh
# Installs the operator's production dependencies into ./node_modules of the current directory,
# which holds package.json and package-lock.json: exactly the versions the lockfile pins, no
# devDependencies, and no install scripts (every dependency is plain JavaScript, so none needs
# one). The one description of these steps: the Dockerfile's deps stage runs it, and so does
# test/unit/packaging/production-install.test.ts.
#
# Extra arguments go to `npm ci`; the test passes --offline, which works after nothing but an
# `npm ci` of the repo, because installing from a lockfile needs only the tarballs, never the
# registry's package metadata.
set -eu
npm ci --omit=dev --ignore-scripts --no-audit --no-fund "$@"
