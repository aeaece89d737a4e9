import { expect, test } from "@playwright/test";
import { createAccount, listRecords } from "./support/pds";
import { signIn } from "./support/sign-in";

const RSVPS = "community.lexicon.calendar.rsvp";

test("a guest answers going, then interested, then withdraws: one RSVP record follows each step", async ({
  page,
  browser,
}, testInfo) => {
  const javaScript = testInfo.project.name === "js";
  const [organiser, guest] = await Promise.all([createAccount(), createAccount()]);

  // The organiser publishes an event.
  await signIn(page, browser, organiser, javaScript);
  await page.goto("/events/new");
  await page.getByLabel("Name").fill("Board games night");
  await page.getByRole("button", { name: "Publish event" }).click();
  await expect(page).toHaveURL(/\/events\/[a-z0-9-]+-[0-9a-z]+$/);
  const eventUrl = new URL(page.url()).pathname;
  const eventUri = (await page.getByTestId("at-uri").textContent()) ?? "";

  // The guest, in a browser of their own, answers it.
  const guestContext = await browser.newContext({ baseURL: testInfo.project.use.baseURL, javaScriptEnabled: javaScript });
  const guestPage = await guestContext.newPage();
  await signIn(guestPage, browser, guest, javaScript);
  await guestPage.goto(eventUrl);
  const mine = guestPage.getByTestId("my-answer");
  await expect(mine.getByTestId("my-status")).toHaveText("You have not answered yet.");
  for (const status of ["going", "interested", "notgoing"]) {
    await expect(guestPage.getByTestId(`count-${status}`)).toHaveText("0");
  }

  // Going.
  await guestPage.getByTestId("answer-going").click();
  await expect(mine).toHaveAttribute("data-status", "going");
  await expect(mine.getByTestId("my-status")).toHaveText("You are going.");
  await expect(mine.locator("[data-sync-status]")).toHaveText("In sync");
  await expect(guestPage.getByTestId("count-going")).toHaveText("1");
  await expect(guestPage.getByTestId("attendee").filter({ hasText: `@${guest.handle}` })).toHaveAttribute(
    "data-status",
    "going",
  );
  let records = await listRecords(guest.did, RSVPS);
  expect(records).toHaveLength(1);
  const uri = records[0].uri;
  expect(records[0].value).toMatchObject({ status: `${RSVPS}#going`, subject: { uri: eventUri } });

  // The organiser sees the guest coming.
  await page.reload();
  await expect(page.getByTestId("count-going")).toHaveText("1");
  await expect(page.getByTestId("attendee").filter({ hasText: `@${guest.handle}` })).toBeVisible();

  // Interested: the same record, changed.
  await guestPage.getByTestId("answer-interested").click();
  await expect(mine).toHaveAttribute("data-status", "interested");
  await expect(mine.locator("[data-sync-status]")).toHaveText("In sync");
  await expect(guestPage.getByTestId("count-interested")).toHaveText("1");
  await expect(guestPage.getByTestId("count-going")).toHaveText("0");
  records = await listRecords(guest.did, RSVPS);
  expect(records).toHaveLength(1);
  expect(records[0].uri).toBe(uri);
  expect(records[0].value.status).toBe(`${RSVPS}#interested`);

  // Withdrawn: no record, no count.
  await guestPage.getByTestId("withdraw").click();
  await expect(mine).toHaveAttribute("data-status", "none");
  await expect(mine.getByTestId("my-status")).toHaveText("You have not answered yet.");
  await expect(guestPage.getByTestId("count-interested")).toHaveText("0");
  await expect(guestPage.getByTestId("attendee")).toHaveCount(0);
  expect(await listRecords(guest.did, RSVPS)).toHaveLength(0);
  await guestContext.close();
});

test("a visitor who is not signed in sees the counts and is asked to sign in", async ({ page, browser }, testInfo) => {
  const organiser = await createAccount();
  await signIn(page, browser, organiser, testInfo.project.name === "js");
  await page.goto("/events/new");
  await page.getByLabel("Name").fill("Open to all");
  await page.getByRole("button", { name: "Publish event" }).click();
  await expect(page).toHaveURL(/\/events\/[a-z0-9-]+-[0-9a-z]+$/);
  const eventUrl = new URL(page.url()).pathname;

  const visitor = await browser.newContext({
    baseURL: testInfo.project.use.baseURL,
    javaScriptEnabled: testInfo.project.name === "js",
  });
  const visitorPage = await visitor.newPage();
  await visitorPage.goto(eventUrl);
  await expect(visitorPage.getByTestId("count-going")).toHaveText("0");
  await expect(visitorPage.getByTestId("answer-sign-in")).toContainText("Sign in with Bluesky");
  await expect(visitorPage.getByTestId("answer-going")).toHaveCount(0);
  await visitor.close();
});
