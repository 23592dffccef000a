# The chat server as an image: the build stage compiles TypeScript, the runtime stage runs the
# compiled server as the unprivileged `node` user. scripts/container-smoke.ts runs these very
# commands outside a container (`npm run smoke:container`, part of .ci/run) and
# tests/unit/container.test.ts keeps the two equal.
#
#   docker build -t chat-server .
#   docker run -p 8001:8001 -e DATABASE_URL=postgres://... -e JWT_SECRET=... --stop-timeout 30 chat-server
#
# Or `docker compose up` (compose.yaml: with PostgreSQL). Stopping: SIGTERM, then the server
# finishes the work already running for up to SHUTDOWN_TIMEOUT_MS (10 s by default) and exits.
# Give it longer than that before the runtime kills it: `--stop-timeout 30` (docker run),
# `stop_grace_period: 30s` (compose.yaml), `terminationGracePeriodSeconds: 30` (Kubernetes);
# Docker's default is 10 s. Raise it with SHUTDOWN_TIMEOUT_MS.
#
# Node.js 24 on Debian 13: the server runs the Node transport (README: the npm build of
# uWebSockets.js has no native binary for Node 24; the official one needs glibc 2.38, which this
# image has). Without DATABASE_URL it starts the embedded PostgreSQL under /data (and warns:
# meant for trying it out).

FROM node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund
RUN mkdir -p data

FROM node:24-trixie-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8001 DATA_DIR=/data
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY client ./client
COPY --from=build --chown=node:node /app/data /data
USER node
VOLUME /data
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8001) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/bootstrap/main.js"]
