# One chat instance (Bun's own guide: oven/bun base, locked deps in their own layer, non-root user).
# Build: docker build -t bun-im .   Run standalone: docker run -p 8875:8875 bun-im
# In a cluster set ZK_CONNECT, REDIS_URL, AMQP_URL, DATABASE_URL, and HOST_IP/PORT as clients reach it.
# Each client connection is an open file: the instance takes the open-files limit minus a reserve
# (MAX_CONNS lowers it). Raise the limit at run time: docker run --ulimit nofile=1048576:1048576 …
FROM oven/bun:1.4.5 AS base
WORKDIR /app

# Dependencies in their own layer, from the lockfile only.
FROM base AS deps
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production

FROM base AS release
ENV NODE_ENV=production \
    PORT=8875 \
    DATABASE_URL=sqlite:///app/data/chat.db
COPY --from=deps /app/node_modules node_modules
COPY package.json bunfig.toml server.ts ./
COPY lib lib
COPY client client
RUN mkdir -p /app/data && chown bun:bun /app/data
USER bun
EXPOSE 8875
# HOST_IP: the address clients reach this instance at (set it in a cluster).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD bun -e "const r = await fetch('http://127.0.0.1:' + (process.env.PORT || 8875) + '/health'); process.exit(r.ok ? 0 : 1)"
CMD ["bun", "run", "server.ts"]
