# One chat instance as one executable. The build stage compiles it exactly as `bun run build` does
# (bun build --compile: the Bun runtime, the server, the browser client and the WAL checkpointer in
# dist/im-server); the release stage is Debian slim with that file alone: no Bun, no node_modules.
# Build: docker build -t bun-im .   Run standalone: docker run -p 8875:8875 bun-im
# In a cluster set ZK_CONNECT, REDIS_URL, AMQP_URL, DATABASE_URL, and HOST_IP/PORT as clients reach it.
# Each client connection is an open file: the instance takes the open-files limit minus a reserve
# (MAX_CONNS lowers it). Raise the limit at run time: docker run --ulimit nofile=1048576:1048576 …
# No Docker engine runs on the development machine: this file was checked by reading only (and by
# test/deploy.test.ts); the same build command and the executable alone in an empty folder are
# tested for real in test/deploy/binary.test.ts, on Debian 12 (bookworm, the release base).
FROM oven/bun:1.4.5 AS build
WORKDIR /src
# Dependencies in their own layer, from the lockfile only.
COPY package.json bun.lock bunfig.toml ./
RUN bun install --frozen-lockfile --production
COPY tsconfig.json server.ts ./
COPY lib lib
COPY client client
RUN bun run build

FROM debian:bookworm-slim AS release
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin im \
 && mkdir -p /app/data && chown im:im /app/data
WORKDIR /app
COPY --from=build /src/dist/im-server /app/im-server
ENV PORT=8875 \
    DATABASE_URL=sqlite:///app/data/chat.db
USER im
VOLUME /app/data
EXPOSE 8875
# HOST_IP: the address clients reach this instance at (set it in a cluster).
# `im-server --health` asks this instance's own /health (PORT) and exits 0 on 200: no curl needed.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/app/im-server", "--health"]
ENTRYPOINT ["/app/im-server"]
