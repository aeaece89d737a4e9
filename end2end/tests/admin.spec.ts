import { Browser, expect, Page, test, TestInfo } from "@playwright/test";
import { adminAccount, createAccount, deleteRecord, putRecord } from "./support/pds";
import { signIn } from "./support/sign-in";

const EVENTS = "community.lexicon.calendar.event";

/** A page of its own on the instance at `baseURL`, signed in as the admin. */
async function adminPage(browser: Browser, testInfo: TestInfo, baseURL?: string): Promise<Page> {
  const context = await browser.newContext({
    baseURL: baseURL ?? testInfo.project.use.baseURL,
    javaScriptEnabled: testInfo.project.name === "js",
  });
  const page = await context.newPage();
  await signIn(page, browser, adminAccount(), testInfo.project.name === "js");
  return page;
}

test("the admin sees real numbers; anyone else gets 403", async ({ page, browser }, testInfo) => {
  const admin = await adminPage(browser, testInfo);
  await admin.goto("/events/new");
  await admin.getByLabel("Name").fill("Counted on the dashboard");
  await admin.getByRole("button", { name: "Publish event" }).click();
  await expect(admin).toHaveURL(/\/events\/\d+$/);

  await admin.getByRole("link", { name: "Admin" }).click();
  await expect(admin).toHaveURL(/\/admin$/);
  expect(Number(await admin.getByTestId("events-total").textContent())).toBeGreaterThanOrEqual(1);
  await expect(admin.getByTestId("in-sync-percent")).toHaveText(/%$/);
  await expect(admin.getByTestId("events-by-status").locator('[data-name="in_sync"]')).toBeVisible();
  await expect(admin.getByTestId("consumer-connected")).toHaveText("yes");
  await expect(admin.getByTestId("sync-chart")).toBeVisible();

  const someone = await createAccount();
  await signIn(page, browser, someone, testInfo.project.name === "js");
  await expect(page.getByRole("link", { name: "Admin" })).toHaveCount(0);
  const response = await page.goto("/admin");
  expect(response?.status()).toBe(403);
  await expect(page.getByText("Only Skymeet's admins may open this.")).toBeVisible();
});

test("a dead letter is replayed once its record is fixed, another is discarded", async ({ browser }, testInfo) => {
  const admin = await adminPage(browser, testInfo);
  const account = adminAccount();
  const suffix = `${testInfo.project.name}${Date.now()}`.replace(/[^a-z0-9]/gi, "");
  const [fixable, hopeless] = [`fix${suffix}`, `bad${suffix}`];
  // Events without a name: the consumer cannot apply them.
  for (const rkey of [fixable, hopeless]) {
    await putRecord(account, EVENTS, rkey, { $type: EVENTS, createdAt: "2026-11-24T00:00:00.000Z" });
  }
  const letter = (rkey: string) => admin.getByTestId("dead-letter").filter({ hasText: `/${EVENTS}/${rkey}` });
  await expect(async () => {
    await admin.goto("/admin");
    await expect(letter(fixable)).toBeVisible({ timeout: 1000 });
    await expect(letter(hopeless)).toBeVisible({ timeout: 1000 });
  }).toPass();

  // Replaying before the record is fixed says why, and keeps it.
  await letter(fixable).getByRole("button", { name: "Replay" }).click();
  await expect(admin.getByRole("alert").filter({ hasText: "still does not apply" })).toBeVisible();
  await admin.goto("/admin");
  await expect(letter(fixable)).toBeVisible();

  // Fixed on the PDS, replayed: applied, and the dead letter is gone.
  await putRecord(account, EVENTS, fixable, { $type: EVENTS, name: "Fixed", createdAt: "2026-11-24T00:00:00.000Z" });
  await letter(fixable).getByRole("button", { name: "Replay" }).click();
  await expect(letter(fixable)).toHaveCount(0);

  await letter(hopeless).getByRole("button", { name: "Discard" }).click();
  await expect(letter(hopeless)).toHaveCount(0);
});

test("reconciliation repairs a record deleted on the PDS while no consumer listened", async ({ browser }, testInfo) => {
  // The second instance runs no firehose consumer.
  const offline = process.env.E2E_OFFLINE_URL as string;
  const admin = await adminPage(browser, testInfo, offline);
  await admin.goto("/events/new");
  const name = `Deleted elsewhere ${testInfo.project.name}`;
  await admin.getByLabel("Name").fill(name);
  await admin.getByRole("button", { name: "Publish event" }).click();
  await expect(admin).toHaveURL(/\/events\/\d+$/);
  const eventUrl = new URL(admin.url()).pathname;
  const rkey = ((await admin.getByTestId("at-uri").textContent()) ?? "").split("/").pop() as string;

  await deleteRecord(adminAccount(), EVENTS, rkey);
  await admin.goto(eventUrl);
  await expect(admin.getByRole("heading", { level: 1 })).toHaveText(name);

  // Both projects share this instance and one run goes at a time: ask until a run has repaired it.
  await expect(async () => {
    await admin.goto("/admin");
    const reconcile = admin.getByRole("button", { name: "Reconcile now" });
    if (await reconcile.isEnabled()) await reconcile.click();
    const response = await admin.goto(eventUrl);
    expect(response?.status()).toBe(404);
  }).toPass({ timeout: 30_000 });
  await admin.goto("/admin");
  const deleted = (await admin.getByTestId("report-deleted").allTextContents()).map(Number);
  expect(deleted.some((n) => n >= 1)).toBe(true);
});
