# syntax=docker/dockerfile:1
# Builds the monolith (and, with another CMD, any app in apps/). The image talks to an external
# PostgreSQL through DATABASE_URL; the embedded PostgreSQL is for laptops and tests.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
RUN npx nest build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# Node receives SIGTERM directly (no npm wrapper), so the app drains before exiting.
CMD ["node", "dist/apps/monolith/src/main.js"]
