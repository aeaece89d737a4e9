import { defineConfig, devices } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";

// The app under test: the server binary built by scripts/build.sh, on its own port and with
// its own embedded database, so a development server on :3000 is left alone.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const root = path.resolve(__dirname, "..");
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const server = process.env.SKYMEET_BIN ?? path.join(targetDir, "debug", "skymeet");
const dataDir = process.env.E2E_DATA_DIR ?? path.join(os.tmpdir(), `skymeet-e2e-${process.pid}`);
const pdsUrl = process.env.LOCAL_PDS_URL ?? "http://localhost:2583";

// The admin account (ADMIN_DIDS) must exist before the server starts, so it is made here, once:
// this file is read again by every worker, which inherits the account through the environment.
if (!process.env.E2E_ADMIN) {
  const create = `
    const handle = "a" + require("node:crypto").randomBytes(5).toString("hex") + ".test";
    const password = require("node:crypto").randomBytes(12).toString("base64url");
    fetch(${JSON.stringify(pdsUrl)} + "/xrpc/com.atproto.server.createAccount", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ handle, password, email: handle + "@example.com" }),
    })
      .then(async (r) => { const b = await r.json(); if (!r.ok) throw new Error(JSON.stringify(b)); return b; })
      .then((b) => process.stdout.write(JSON.stringify({ handle: b.handle, did: b.did, password })));`;
  process.env.E2E_ADMIN = execFileSync(process.execPath, ["-e", create], { encoding: "utf8" });
}
const admin = JSON.parse(process.env.E2E_ADMIN);

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

process.env.E2E_OUTBOX = path.join(dataDir, `outbox-${port}`);

const offlinePort = port + 1;
process.env.E2E_OFFLINE_URL = `http://127.0.0.1:${offlinePort}`;
const quietPort = port + 2;
process.env.E2E_QUIET_URL = `http://127.0.0.1:${quietPort}`;

/** The server under test on `port`, with its own embedded database file. */
function serverOn(port: number, database: string) {
  return {
    command: server,
    url: `http://127.0.0.1:${port}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore" as const,
    stderr: "pipe" as const,
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(root, "target", "site"),
      SQLITE_PATH: path.join(dataDir, database),
      // No mail server: account mail is written here, where the specs read it.
      MAIL_OUTBOX_DIR: path.join(dataDir, `outbox-${port}`),
      DATABASE_URL: "",
      REDIS_URL: "",
      RUST_LOG: "warn",
      // Identities resolve on the local ATProto network when it runs (scripts/local-pds.sh).
      ATPROTO_PLC_URL: process.env.LOCAL_PLC_URL ?? "http://localhost:2582",
      ATPROTO_HANDLE_RESOLVER: pdsUrl,
      ADMIN_DIDS: admin.did,
      RECONCILE_INTERVAL_SECONDS: "0",
      // Samples for the dashboard's charts every second, so a test sees them move.
      METRICS_SAMPLE_SECONDS: "1",
      // Two workers drive every instance from one address: far above what a person needs.
      RATE_LIMIT_PER_SECOND: "1000",
      RATE_LIMIT_BURST: "5000",
    } as Record<string, string>,
  };
}

export default defineConfig({
  testDir: "./tests",
  // A flow signs in through the PDS and writes to it several times: on 2 cores, under the load of
  // the other workers, 30 s was not always enough.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: [["list"]],
  // Browsers report their zone to the app (JavaScript on); Berlin, where the specs' events are.
  use: { baseURL, trace: "retain-on-failure", timezoneId: "Europe/Berlin" },
  projects: [
    { name: "js", use: { ...chromium, javaScriptEnabled: true } },
    { name: "no-js", use: { ...chromium, javaScriptEnabled: false } },
  ],
  webServer: [
    {
      ...serverOn(port, "skymeet.db"),
      // The PDS's own firehose stands in for a relay.
      env: { ...serverOn(port, "skymeet.db").env, FIREHOSE_URL: pdsUrl.replace(/^http/, "ws") },
    },
    // A second instance whose firehose cannot be reached (nothing listens on port 9), so nothing
    // arrives from it: for what happens while nobody listens (reconciliation), and for what the
    // dashboard says then. `E2E_OFFLINE_URL` in the specs.
    {
      ...serverOn(offlinePort, "offline.db"),
      env: { ...serverOn(offlinePort, "offline.db").env, FIREHOSE_URL: "ws://127.0.0.1:9" },
    },
    // A third one without a consumer where nobody reconciles either (a run on the second instance
    // re-reads every repo it knows): what changes elsewhere stays unknown until someone syncs.
    serverOn(quietPort, "quiet.db"),
  ],
});
