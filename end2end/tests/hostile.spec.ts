import { expect, test } from "@playwright/test";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { createAccount, putRecord } from "./support/pds";

const EVENTS = "community.lexicon.calendar.event";
// Every breakout a name could try: out of the <title>, into a tag, into an attribute.
const NAME = `Hostile </title><script>window.__pwned = "title"</script><img src=x onerror="window.__pwned = 'img'"> "'>`;

test("a hostile event's page runs none of its markup, and the page has a strict policy", async ({ page }, testInfo) => {
  const account = await createAccount();
  await putRecord(account, EVENTS, "hostile", {
    $type: EVENTS,
    name: NAME,
    createdAt: "2026-11-24T00:00:00.000Z",
    startsAt: "2031-05-01T18:00:00.000Z",
    description: `<script>window.__pwned = "description"</script></textarea><b>bold?</b>`,
    uris: [
      { uri: "javascript:window.__pwned = 'link'", name: "click me" },
      { uri: " JavaScript:window.__pwned = 'padded'", name: "padded" },
      { uri: "https://example.com/tickets", name: "Tickets" },
    ],
  });

  // The firehose brings it; the organiser's page then links to its page here.
  let href: string | null = null;
  await expect(async () => {
    await page.goto(`/u/${account.handle}`);
    href = await page.getByTestId("event-card").getByRole("link").first().getAttribute("href", { timeout: 1_000 });
    expect(href).toMatch(/^\/events\/[a-z0-9-]+-[0-9a-z]+$/);
  }).toPass({ timeout: 30_000 });

  const response = await page.goto(href!);
  const policy = response!.headers()["content-security-policy"];
  expect(policy).toMatch(/script-src 'nonce-[A-Za-z0-9_-]+' 'strict-dynamic'/);
  expect(policy).not.toContain("unsafe-inline");
  expect(response!.headers()["x-content-type-options"]).toBe("nosniff");

  // The name is text: in the heading and in the title, exactly as written.
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(NAME);
  expect(await page.title()).toBe(`${NAME} · Skymeet`);
  await expect(page.getByTestId("event-description")).toContainText(`<script>window.__pwned = "description"</script>`);
  // Links that are not http(s) are text; the http(s) one is a link.
  await expect(page.getByTestId("inert-link")).toHaveText(["click me", "padded"]);
  await expect(page.getByRole("link", { name: "click me" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Tickets" })).toHaveAttribute("href", "https://example.com/tickets");
  await page.getByTestId("inert-link").first().click();
  // Every script in the page is the page's own (carries the nonce); none came from the record.
  await expect(page.locator("script:not([nonce])")).toHaveCount(0);
  await expect(page.locator("img[src=x]")).toHaveCount(0);

  if (testInfo.project.name === "js") {
    // The app's own scripts still run under the policy (it hydrates), and the record's never ran.
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  }
});

test("a form on another site cannot make the browser post to Skymeet", async ({ page }, testInfo) => {
  const target = `${testInfo.project.use.baseURL}/api/login`;
  // Another origin: the same host on another port ("same-site", which SameSite cookies let through).
  const evil = http.createServer((_, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><title>Win a prize</title>
      <form method="post" action="${target}"><input type="hidden" name="handle" value="attacker.test">
      <button type="submit">Claim your prize</button></form>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = evil.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
    const answer = page.waitForResponse((r) => r.url() === target);
    await page.getByRole("button", { name: "Claim your prize" }).click();
    const refused = await answer;
    expect(refused.status()).toBe(403);
    expect(await refused.json()).toMatchObject({ code: "error-request-2" });
  } finally {
    evil.close();
  }
});
