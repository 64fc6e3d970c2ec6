# syntax=docker/dockerfile:1
#
# One image for every Lvl_UP process; the command picks the role:
#   node dist/src/bin/api.js      HTTP API (default CMD, port 8000)
#   node dist/src/bin/worker.js   Temporal worker (Prometheus metrics on WORKER_METRICS_ADDRESS)
#   node dist/src/bin/migrate.js  one-shot database migrations
#
# There is no HEALTHCHECK here on purpose: api, worker and migrate share this image but need different probes
# (or none, for a one-shot job), so docker-compose.yml defines one per service.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------------------------
# Production node_modules only. A stage of its own so that the dev dependencies needed by the build never reach the
# runtime image, and so that this layer is cached until package*.json changes.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

# ---------------------------------------------------------------------------------------------------------------------
# Full install + build: tsc -p tsconfig.build.json into dist/, then the pre-built Temporal workflow bundle
# (dist/workflow-bundle.js), which the worker loads instead of bundling the workflows with webpack at start-up, then the
# web console (vite, web/ → dist/web), which the API serves at / — all of it reaches the runtime stage with dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY . .
# `mkdir -p examples`: git does not keep empty directories, so a fresh checkout may lack examples/; the runtime stage
# copies it from here and must not fail on that.
RUN npm run build \
 && test -f dist/workflow-bundle.js \
 && test -f dist/web/index.html \
 && mkdir -p examples

# ---------------------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

# git        — the worker clones/commits in the target repository.
# bubblewrap — `bwrap`, the worker's sandbox for running target code (needs user namespaces; see docker-compose.yml).
# tini       — PID 1 that forwards SIGTERM to node (graceful worker shutdown) and reaps the sandboxed child processes.
# ca-certificates — git over https (node itself ships its own CA bundle).
# safe.directory: the target repository is bind-mounted from the host and usually owned by another uid than `node`;
# without this git refuses it as "dubious ownership". Fine in a single-purpose container (the check guards
# multi-user hosts).
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap ca-certificates git tini \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'

ENV NODE_ENV=production \
    DATA_DIR=/var/lib/lvlup

WORKDIR /app

# Application files stay root-owned (read-only for the app user); only the data directory and the bundled example
# repository, which the agents may write to, belong to `node`.
COPY package.json package-lock.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/migrations ./migrations
COPY --from=build --chown=node:node /app/examples ./examples
RUN mkdir -p /var/lib/lvlup && chown node:node /var/lib/lvlup

# The non-root user that the official node image provides (uid/gid 1000).
USER node

EXPOSE 8000 9464

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/bin/api.js"]
