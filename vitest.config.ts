import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start brokers and child processes; keep them from starving each other on 2 cores.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: "node", include: ["test/**/*.test.ts"], exclude: ["test/**/*.browser.test.ts"] },
      },
      {
        // Chromium takes a core of its own: its tests run after the others, not beside the ones
        // that measure seconds.
        extends: true,
        test: { name: "browser", include: ["test/**/*.browser.test.ts"], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
