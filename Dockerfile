# syntax=docker/dockerfile:1
# wootric-firehose image: docker build -t wootric-firehose . && docker run -p 8080:8080 wootric-firehose
# scripts/verify-docker-steps.mjs replays this file's build and run steps without a Docker engine (CI runs it).

ARG NODE_VERSION=24

# --- build: install every dependency, compile TypeScript, then drop dev dependencies -------------------------------
FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

# --- runtime: production dependencies and the compiled code only, as the unprivileged `node` user -----------------
FROM node:${NODE_VERSION}-slim AS runtime
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
