import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each integration file starts its own sshd; two cores do not gain from more than two at once.
    maxWorkers: 2,
  },
});
