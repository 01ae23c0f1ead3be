# One image for the demo and the workers: the monorepo, installed and built.
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json tsconfig.json ./
COPY scripts ./scripts
COPY packages ./packages
COPY apps ./apps
RUN npm ci --no-audit --no-fund && npx turbo run build --filter=@parkway/demo --filter=@parkway/worker-app
ENV NODE_ENV=production
CMD ["node", "apps/worker/dist/main.js", "--workflows", "apps/demo/dist/order.js"]
