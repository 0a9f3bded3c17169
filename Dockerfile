# One image for every xregion ECS service (compressor, router, drive-ingest); the task's
# command picks the service: ["node", "dist/services/<service>/main.js"].
# Built for linux/arm64 by `cdk deploy` (the stacks run Fargate ARM64).

# --- build: compile native addons and TypeScript, then drop dev dependencies -------------
FROM node:22-slim AS build
# zstd-napi compiles from source with node-gyp.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts are skipped here because "prepare" compiles the sources, which are not copied yet;
# `npm rebuild zstd-napi` then runs the one install script the runtime needs (its native build).
RUN npm install --ignore-scripts --no-audit --no-fund \
 && npm rebuild zstd-napi
COPY tsconfig.json tsconfig.build.json ./
COPY shared ./shared
COPY services ./services
COPY stacks ./stacks
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund
# The lockfile (written on linux-x64) names only x64 DuckDB bindings and npm does not add the
# missing platform package (npm/cli#4828): add the one for this architecture if it is absent.
# After the prune, which would remove it as extraneous.
RUN node -e "require('@duckdb/node-bindings')" 2>/dev/null \
 || npm install --no-save --omit=dev --ignore-scripts --no-audit --no-fund \
      "@duckdb/node-bindings-linux-$(node -p process.arch)@$(node -p "require('@duckdb/node-bindings/package.json').version")"

# --- runtime: production dependencies and compiled code only, as a non-root user ---------
FROM node:22-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
USER node
CMD ["node", "dist/services/cli/main.js", "--help"]
