import { defineConfig, devices } from "@playwright/test";
import * as os from "node:os";
import * as path from "node:path";

// The app under test: the server binary built by `cargo leptos build`, on its own port and with
// its own embedded database, so a development server on :3000 is left alone.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const root = path.resolve(__dirname, "..");
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const server = process.env.SKYMEET_BIN ?? path.join(targetDir, "debug", "skymeet");
const dataDir = process.env.E2E_DATA_DIR ?? path.join(os.tmpdir(), `skymeet-e2e-${process.pid}`);

// Debian's Chromium; a browser download by Playwright is neither possible nor wanted here.
const chromium = {
  ...devices["Desktop Chrome"],
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  },
};

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: [["list"]],
  use: { baseURL, trace: "retain-on-failure" },
  projects: [
    { name: "js", use: { ...chromium, javaScriptEnabled: true } },
    { name: "no-js", use: { ...chromium, javaScriptEnabled: false } },
  ],
  webServer: {
    command: server,
    url: `${baseURL}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(root, "target", "site"),
      SQLITE_PATH: path.join(dataDir, "skymeet.db"),
      DATABASE_URL: "",
      REDIS_URL: "",
      RUST_LOG: "warn",
      // Identities resolve on the local ATProto network when it runs (scripts/local-pds.sh).
      ATPROTO_PLC_URL: process.env.LOCAL_PLC_URL ?? "http://localhost:2582",
      ATPROTO_HANDLE_RESOLVER: process.env.LOCAL_PDS_URL ?? "http://localhost:2583",
      // The PDS's own firehose stands in for a relay.
      FIREHOSE_URL: (process.env.LOCAL_PDS_URL ?? "http://localhost:2583").replace(/^http/, "ws"),
    },
  },
});
