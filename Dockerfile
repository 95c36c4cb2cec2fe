# syntax=docker/dockerfile:1
# wootric-firehose image: docker build -t wootric-firehose . && docker run -p 8080:8080 wootric-firehose
# scripts/verify-docker-steps.mjs replays this file's build and run steps without a Docker engine (CI runs it).

# Node 24 LTS on Debian 12 slim, pinned by the digest of its multi-platform image index (amd64, arm64, ppc64le), as
# recorded for this tag by the Docker official images (github.com/docker-library/repo-info, repos/node/remote). The tag
# documents the version; the digest makes the build reproducible. To move to a newer 24.x, take the digest from that
# listing or from `docker buildx imagetools inspect node:<version>-bookworm-slim` (the "Digest:" line), replace both,
# and keep .ci/run's NODE24_VERSION the same so CI tests the runtime the image ships.
ARG NODE_IMAGE=node:24.18.1-bookworm-slim@sha256:235600a8101ab264e117b1768e925532262668dc9b581ef1dd7d96ced463b8e7

# --- build: install every dependency, compile TypeScript, then drop dev dependencies -------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

# --- runtime: production dependencies and the compiled code only, as the unprivileged `node` user -----------------
FROM ${NODE_IMAGE} AS runtime
ARG NODE_IMAGE
LABEL org.opencontainers.image.title="wootric-firehose" \
      org.opencontainers.image.description="Moves Wootric (InMoment) NPS/CSAT/CES survey data into Amazon S3 through Kinesis Data Firehose, continuously and without loss." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
# tini as PID 1 forwards SIGTERM/SIGINT to node and reaps zombies; node itself then drains and flushes the spool.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown node:node /data
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/data \
    LOG_FORMAT=json
WORKDIR /app
# Application files stay owned by root: the service cannot modify its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
# slim images have no curl: ask node itself (global fetch) whether /healthz answers.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli.js"]
CMD ["serve"]
