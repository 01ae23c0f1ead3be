# syntax=docker/dockerfile:1
# The workers, the demo, the dashboard and the parkway CLI in one image, without dev dependencies, run as the
# unprivileged `node` user. docker-compose.yml picks the process with `command`.

# Build: every workspace installed (dev dependencies included) and compiled.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json turbo.json tsconfig.base.json tsconfig.json ./
COPY scripts ./scripts
COPY packages ./packages
COPY apps ./apps
COPY bench ./bench
RUN npm ci --no-audit --no-fund \
 && npx turbo run build --output-logs=errors-only \
      --filter=@parkway/worker --filter=@parkway/worker-app --filter=@parkway/demo --filter=@parkway/dashboard --filter=@parkway/cli
# What the runtime needs of each workspace: its package.json (npm ci wants every workspace's), and what it built
# (dist/) or reads at run time (lua/, where a package has one).
RUN set -eu; mkdir /out; cp package.json package-lock.json /out/; \
    for manifest in packages/*/package.json apps/*/package.json bench/package.json; do \
      dir=$(dirname "$manifest"); mkdir -p "/out/$dir"; cp "$manifest" "/out/$dir/"; \
      for part in dist lua; do if [ -d "$dir/$part" ]; then cp -R "$dir/$part" "/out/$dir/"; fi; done; \
    done

# Runtime: production dependencies of the processes it runs, and the compiled output.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out ./
# --omit=optional too: it leaves out the test runner that @parkway/core names as an optional peer (for its
# testing entry point) and native accelerators that have pure JavaScript fallbacks.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund --ignore-scripts \
      --workspace apps/worker --workspace apps/demo --workspace apps/dashboard --workspace packages/cli \
 && npm cache clean --force
USER node
CMD ["node", "apps/worker/dist/main.js", "--workflows", "apps/demo/dist/order.js"]
