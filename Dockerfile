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
# `npm rebuild` then runs the dependencies' own install scripts (zstd-napi's native build).
RUN npm install --ignore-scripts --no-audit --no-fund \
 && npm rebuild
COPY tsconfig.json tsconfig.build.json ./
COPY shared ./shared
COPY services ./services
COPY stacks ./stacks
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime: production dependencies and compiled code only, as a non-root user ---------
FROM node:22-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
USER node
CMD ["node", "dist/services/cli/main.js", "--help"]
