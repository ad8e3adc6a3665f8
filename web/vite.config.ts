// Builds the UI into dist/, which the server embeds (crates/server/src/ui.rs).
// `npm run dev` serves it with hot reload and sends /api to a running `dogwatch up`.
import { defineConfig } from "vitest/config";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 400 },
  server: { proxy: { "/api": process.env.DOGWATCH_SERVER ?? "http://127.0.0.1:8585" } },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
});
