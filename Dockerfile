# https://developers.home-assistant.io/docs/apps/configuration#app-dockerfile
# The base is a multi-platform manifest (Alpine + s6-overlay v3 + bashio); a Supervisor building
# on the device passes the same image as BUILD_FROM (build.yaml) together with --platform.
ARG BUILD_FROM=ghcr.io/home-assistant/base:3.23

# ---- build: compile the TypeScript sources to dist/ ----
FROM ${BUILD_FROM} AS build
RUN apk add --no-cache nodejs npm
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- prod-deps: runtime dependencies only (mqtt, zod, pino) ----
FROM ${BUILD_FROM} AS prod-deps
RUN apk add --no-cache nodejs npm
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- the add-on: node and the compiled program, no npm ----
FROM ${BUILD_FROM}
RUN apk add --no-cache nodejs

WORKDIR /app
# package.json says "type": "module" for dist/*.js and holds the version the program reports.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY rootfs /

# The program rewrites /run/mqtt-aggregator/heartbeat every 30 s while it runs (outside /data, so
# that a full or read-only data folder does not fail the check): "healthy …", or "unhealthy …" after
# 5 minutes without a working broker connection. Unhealthy, older than 2 minutes (it hangs) or
# missing fails the check; three failures in a row and the Supervisor's watchdog restarts the add-on.
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD grep -qs '^healthy ' /run/mqtt-aggregator/heartbeat && find /run/mqtt-aggregator/heartbeat -mmin -2 2>/dev/null | grep -q . || exit 1

ARG BUILD_ARCH
ARG BUILD_VERSION
LABEL \
    io.hass.name="MQTT Aggregator" \
    io.hass.description="Turns many MQTT topics into a few derived entities published through MQTT discovery." \
    io.hass.arch="${BUILD_ARCH}" \
    io.hass.type="addon" \
    io.hass.version="${BUILD_VERSION}" \
    org.opencontainers.image.title="Home Assistant Add-on: MQTT Aggregator" \
    org.opencontainers.image.description="Turns many MQTT topics into a few derived entities published through MQTT discovery." \
    org.opencontainers.image.source="https://github.com/mqtt-aggregator/hassio-mqtt-aggregator" \
    org.opencontainers.image.licenses="MIT" \
    org.opencontainers.image.version="${BUILD_VERSION}"
