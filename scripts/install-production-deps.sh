#!/bin/sh
# Installs the operator's production dependencies into ./node_modules of the current directory,
# which holds package.json and package-lock.json: exactly the versions the lockfile pins, no
# devDependencies, and the native `zookeeper` addon compiled for the Node on PATH (node-gyp
# takes that Node's headers from $npm_config_nodedir). The one description of these steps:
# the Dockerfile's deps stage runs it, and so does test/unit/packaging/production-install.test.ts.
#
# Extra arguments go to `npm ci`; the test passes --offline, which works after nothing but an
# `npm ci` of the repo, because installing from a lockfile needs only the tarballs, never the
# registry's package metadata.
set -eu
npm ci --omit=dev --no-audit --no-fund "$@"
# The addon's build can "succeed" and still leave a module that does not load under this Node.
node -e "require('zookeeper')"
