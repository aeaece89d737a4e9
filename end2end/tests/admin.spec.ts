import { Browser, expect, Page, test, TestInfo } from "@playwright/test";
import { adminAccount, createAccount, deleteRecord, getRecord, putRecord } from "./support/pds";
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
  await expect(admin).toHaveURL(/\/events\/[a-z0-9-]+-[0-9a-z]+$/);

  await admin.getByRole("link", { name: "Admin" }).click();
  await expect(admin).toHaveURL(/\/admin$/);
  expect(Number(await admin.getByTestId("events-total").textContent())).toBeGreaterThanOrEqual(1);
  await expect(admin.getByTestId("in-sync-percent")).toHaveText(/%$/);
  await expect(admin.getByTestId("events-by-status").locator('[data-name="in_sync"]')).toBeVisible();
  await expect(admin.getByTestId("consumer-connected")).toHaveText("yes");
  await expect(admin.getByTestId("sync-chart")).toBeVisible();
  // The charts over time, drawn on the server: the publish above shows once two samples span it.
  const chart = (title: string) => admin.locator(`[data-testid="chart"][data-title="${title}"]`);
  await expect(admin.getByTestId("chart")).toHaveCount(4);
  await expect(async () => {
    await admin.goto("/admin");
    await expect(chart("Publish duration").getByTestId("chart-latest")).toHaveText(/ ms$/, { timeout: 1000 });
    await expect(chart("In sync").getByTestId("chart-latest")).toHaveText(/ %$/, { timeout: 1000 });
  }).toPass();
  // Drawn: a line (or a dot) in the SVG. (A flat line has no height, so it is "attached", not "visible".)
  await expect(chart("In sync").locator("svg polyline, svg circle").first()).toBeAttached();

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
  // The second instance's firehose cannot be reached: nothing arrives from it.
  const offline = process.env.E2E_OFFLINE_URL as string;
  const admin = await adminPage(browser, testInfo, offline);
  await admin.goto("/events/new");
  const name = `Deleted elsewhere ${testInfo.project.name}`;
  await admin.getByLabel("Name").fill(name);
  await admin.getByRole("button", { name: "Publish event" }).click();
  await expect(admin).toHaveURL(/\/events\/[a-z0-9-]+-[0-9a-z]+$/);
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
  // The run's report is written when the run ends, a moment after the row it removed is gone.
  await expect(async () => {
    await admin.goto("/admin");
    const deleted = (await admin.getByTestId("report-deleted").allTextContents()).map(Number);
    expect(deleted.some((n) => n >= 1)).toBe(true);
  }).toPass({ timeout: 15_000 });
});

test("the dashboard says the firehose cannot be reached; pages are served all the same", async ({ browser }, testInfo) => {
  const offline = process.env.E2E_OFFLINE_URL as string;
  const admin = await adminPage(browser, testInfo, offline);
  const note = admin.getByTestId("consumer-unreachable");
  // The first attempt fails at once; the dashboard reads it from then on.
  await expect(async () => {
    await admin.goto("/admin");
    await expect(note).toBeVisible({ timeout: 1000 });
  }).toPass();
  await expect(note).toContainText("Not connected: connecting to the firehose failed");
  await expect(note).toContainText("it resumes from its cursor once it connects");
  await expect(admin.getByTestId("consumer-connected")).toHaveText("no");
  await expect(admin.getByTestId("consumer")).toContainText("ws://127.0.0.1:9");
  const events = await admin.goto("/events");
  expect(events?.status()).toBe(200);
  await expect(admin.getByRole("heading", { level: 1 })).toHaveText("Events");
});

test("an organiser syncs an event changed elsewhere; an admin keeps Bluesky's version of a conflict", async ({
  browser,
}, testInfo) => {
  // The instance without a consumer or reconciliation: changes made elsewhere stay unknown until
  // someone syncs.
  const quiet = process.env.E2E_QUIET_URL as string;
  const js = testInfo.project.name === "js";
  const page = await (await browser.newContext({ baseURL: quiet, javaScriptEnabled: js })).newPage();
  const organiser = await createAccount();
  // Both projects (and repeated runs) use this instance and its one conflict list: a name of our own.
  const ours = `Our version (${organiser.handle})`;
  await signIn(page, browser, organiser, js);
  await page.goto("/events/new");
  await page.getByLabel("Name").fill("Sync me");
  await page.getByRole("button", { name: "Publish event" }).click();
  await expect(page).toHaveURL(/\/events\/[a-z0-9-]+-[0-9a-z]+$/);
  const eventUrl = new URL(page.url()).pathname;
  const heading = page.getByRole("heading", { level: 1 });
  const rkey = ((await page.getByTestId("at-uri").textContent()) ?? "").split("/").pop() as string;
  const record = (await getRecord(organiser.did, EVENTS, rkey)).value;

  // Changed in another app: "Sync now" reads it again.
  await putRecord(organiser, EVENTS, rkey, { ...record, name: "Renamed on Bluesky" });
  await page.goto(eventUrl);
  await expect(heading).toHaveText("Sync me");
  await page.getByRole("button", { name: "Sync now" }).click();
  await expect(heading).toHaveText("Renamed on Bluesky");

  // Changed elsewhere again, then edited here over the version Skymeet knew: a conflict.
  await putRecord(organiser, EVENTS, rkey, { ...record, name: "Bluesky's version" });
  await page.getByRole("link", { name: "Edit" }).click();
  await page.getByLabel("Name").fill(ours);
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("was changed on Bluesky since you opened it")).toBeVisible();

  // The admin keeps Bluesky's version from the dashboard; the event follows the PDS.
  const admin = await adminPage(browser, testInfo, quiet);
  await admin.goto("/admin");
  const conflict = admin.getByTestId("conflicts").locator("li").filter({ hasText: `ours: ${ours}` });
  await conflict.getByRole("button", { name: "Keep Bluesky's" }).click();
  await expect(conflict).toContainText("kept theirs");
  await expect(conflict.getByRole("button", { name: "Keep Bluesky's" })).toHaveCount(0);
  await page.goto(eventUrl);
  await expect(heading).toHaveText("Bluesky's version");
  await expect(page.getByTestId("sync-details").locator("[data-sync-status]")).toHaveText("In sync");
  expect((await getRecord(organiser.did, EVENTS, rkey)).value.name).toBe("Bluesky's version");
});
