# Tool Catalog production image: compiled JavaScript, production dependencies only, non-root,
# tini as PID 1 so that SIGTERM reaches node and the service drains (SHUTDOWN_TIMEOUT_MS).
#   docker build --build-arg BUILD_COMMIT=$(git rev-parse --short HEAD) -t tool-catalog .
# Used by docker-compose.yml (service `tool-catalog`, against the `postgres` service).

# ---- build: all dependencies, Prisma client generation (postinstall), tsc -> dist/
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- production dependencies only; no install scripts (the client is already compiled into dist/)
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ARG BUILD_COMMIT=unknown
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/var/lib/tool-catalog \
    CATALOG_DIR=/app/catalog \
    BUILD_COMMIT=${BUILD_COMMIT}
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Migrations are applied at start-up from prisma/ beside dist/.
COPY --from=build /app/prisma ./prisma
COPY package.json ./
COPY catalog ./catalog
# The embedded database (when DATABASE_URL is unset) lives in a volume owned by the service user.
RUN mkdir -p /var/lib/tool-catalog && chown node:node /var/lib/tool-catalog
VOLUME /var/lib/tool-catalog
USER node
EXPOSE 4000

# The slim image has no curl: ask Node itself (global fetch) whether /ready answers 200.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4000/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/server.js"]
