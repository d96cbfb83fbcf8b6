# The qgjob server. Build: docker build -t qgjob .
# Run:   docker run -p 8000:8000 -v qgjob-data:/data qgjob   (after creating a token: README)
# Stage 1 packs the package (npm pack builds it), stage 2 installs that tarball with production
# dependencies only, as users install it; the final stage copies the result onto a clean base.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Only tsc runs here: better-sqlite3's native build is left to the install stage.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json README.md ./
COPY api ./api
COPY app ./app
COPY agent ./agent
COPY cli ./cli
RUN npm pack --pack-destination /pkg

FROM ${NODE_IMAGE} AS install
# For better-sqlite3 when no prebuilt binding fits; none of this reaches the final stage.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY scripts/install-package.sh /usr/local/bin/install-package
COPY --from=build /pkg /pkg
RUN install-package /pkg/qgjob-*.tgz /opt/qgjob

FROM ${NODE_IMAGE}
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000 QGJOB_DB=/data/qgjob.db
COPY --from=install /opt/qgjob /opt/qgjob
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
WORKDIR /opt/qgjob
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/opt/qgjob/node_modules/.bin/qgjob"]
CMD ["server"]
