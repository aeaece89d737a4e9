// Makes a fresh account on the local PDS, signs it in to Skymeet at SKYMEET_URL through the real
// OAuth flow in Debian's Chromium, and prints {"did", "handle", "password", "cookie"}: the session
// cookie schemathesis sends. With ACCOUNT set (that JSON), signs that account in again instead.
const { chromium } = require("../../end2end/node_modules/playwright-core");

const skymeet = process.env.SKYMEET_URL;
const pds = process.env.LOCAL_PDS_URL;

async function createAccount() {
  const random = () => require("node:crypto").randomBytes(6).toString("hex");
  const handle = `fz${random().slice(0, 8)}.test`;
  const password = random();
  const response = await fetch(`${pds}/xrpc/com.atproto.server.createAccount`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ handle, password, email: `${handle}@example.com` }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(JSON.stringify(body));
  return { did: body.did, handle, password };
}

(async () => {
  const account = process.env.ACCOUNT ? JSON.parse(process.env.ACCOUNT) : await createAccount();
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    await page.goto(`${skymeet}/login`);
    await page.getByLabel("Your handle or DID").fill(account.handle);
    await page.getByRole("button", { name: "Continue" }).click();
    const password = page.getByLabel("Password", { exact: true });
    await password.waitFor();
    await password.fill(account.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Authorize" }).click();
    await page.waitForURL(`${skymeet}/`);
    const cookies = await page.context().cookies(skymeet);
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    process.stdout.write(JSON.stringify({ ...account, cookie }));
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
