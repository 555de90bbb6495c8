# Tool Catalog service image. Build: docker build -t tool-catalog .
# Used by docker-compose.yml (service `tool-catalog`, against the `postgres` service).
FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, for layer caching. `npm ci` runs the project's postinstall
# (scripts/prisma-generate.mjs -> prisma generate into src/generated/), which needs the
# Prisma schema and config.
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci && npm cache clean --force

# Application sources (see .dockerignore: no node_modules, data, .git or host-generated client).
COPY . .

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000

# Migrations are applied at start-up; run unprivileged.
RUN chown -R node:node /app
USER node

EXPOSE 4000

# The slim image has no curl: ask Node itself (global fetch) whether /ready answers 200.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4000/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["npm", "start"]
