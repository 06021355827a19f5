# The shoal image: `docker build -t shoal:0.1.0 .` (or podman build).
#
# NODE_IMAGE is the base of both stages; any image with Node >= 20 and npm works (a local
# stand-in where no registry is reachable: --build-arg NODE_IMAGE=localhost/node-base:test).
ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: compile TypeScript, then drop the dev dependencies --------------------------------
FROM ${NODE_IMAGE} AS build
# Behind a proxy that re-signs TLS, npm needs the proxy's CA:
#   --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
#   -v /etc/ssl/certs:/etc/ssl/certs:ro      (podman; with docker, COPY the bundle in)
ARG NODE_EXTRA_CA_CERTS
ENV NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS}
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the only install scripts (lmdb, msgpackr-extract) look for a native build;
# both ship prebuilt binaries as per-platform packages, so nothing needs compiling and the
# image needs no compiler.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Pruning leaves the scope directories of removed packages (@types, @eslint, ...) empty.
RUN npm run build \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
  && find node_modules -mindepth 1 -maxdepth 1 -type d -empty -delete \
  && npm cache clean --force

# --- runtime: only the compiled code, production dependencies and package.json --------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    SHOAL_DATA_DIR=/data
WORKDIR /app
# Owned by root and not writable by the process: the code never changes at run time.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# The store's directory, the one place shoal writes (a volume in Kubernetes). With a read-only
# root filesystem, /data and /tmp are the only writable paths it needs.
RUN mkdir -p /data && chown 1000:1000 /data && chmod 0750 /data
# A numeric user, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 1000:1000
# 8080: REST API, probes (/healthz, /readyz) and /metrics. 7946: gossip over UDP and peer
# traffic over TCP, the same number.
EXPOSE 8080 7946/udp 7946/tcp
# Node runs as PID 1 without an init: shoal installs its own SIGTERM and SIGINT handlers (PID 1
# gets no default ones), so a stop signal starts the graceful leave and the process exits 0;
# it starts no child processes, so there are no zombies to reap.
ENTRYPOINT ["node", "/app/dist/src/main.js"]
CMD ["serve"]
