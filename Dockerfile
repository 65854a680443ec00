# syntax=docker/dockerfile:1
# The platform's container image (docs/operations.md). Three stages:
#   build   - all dependencies, `nest build` to dist/
#   deps    - production dependencies only; without the development OpenID provider and the
#             embedded database unless WITH_DEV_PROVIDER=true (both are loaded lazily, only
#             when OIDC_ISSUER / DATABASE_URL are unset)
#   runtime - dist/, migrations/, config/ and those dependencies; non-root; read-only root
#             filesystem friendly: the only writable path is DATA_DIR, a volume.
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY apps ./apps
COPY libs ./libs
RUN npx nest build

FROM ${NODE_IMAGE} AS deps
ARG WITH_DEV_PROVIDER=false
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && if [ "$WITH_DEV_PROVIDER" != "true" ]; then \
      npm uninstall --omit=dev --no-audit --no-fund oidc-provider @electric-sql/pglite; \
    fi \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# tini is PID 1: it forwards SIGTERM to node (which drains: no new connections, requests in
# flight finish and are audited, the audit batch is flushed) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/var/lib/platform \
    LOG_FORMAT=json \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY migrations ./migrations
COPY config ./config
# The uid of the image's `node` user, numeric so that Kubernetes can check runAsNonRoot.
RUN mkdir -p /var/lib/platform && chown 1000:1000 /var/lib/platform
USER 1000:1000
VOLUME ["/var/lib/platform"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]
