import { expect, test } from "@playwright/test";
import { createAccount, listRecords } from "./support/pds";
import { signIn } from "./support/sign-in";

const EVENTS = "community.lexicon.calendar.event";
const RSVPS = "community.lexicon.calendar.rsvp";

test("a weekly series: its dates, an answer to the second, the record on Bluesky, and an edit it follows", async ({
  page,
  browser,
}, testInfo) => {
  const javaScript = testInfo.project.name === "js";
  const [organiser, guest] = await Promise.all([createAccount(), createAccount()]);

  // The organiser starts a weekly series on Tuesdays (13 May 2031 is one), 19:00 in Berlin.
  await signIn(page, browser, organiser, javaScript);
  await page.goto("/events/new");
  await page.getByLabel("Name").fill("Weekly Rust meetup");
  await page.getByLabel("Starts").fill("2031-05-13T19:00");
  await page.getByLabel("Ends").fill("2031-05-13T21:00");
  await page.getByLabel("Time zone").selectOption("Europe/Berlin");
  await page.getByLabel("How often").selectOption("weekly");
  await page.getByLabel("Tue", { exact: true }).check();
  await page.getByRole("button", { name: "Publish event" }).click();

  await expect(page).toHaveURL(/\/series\/weekly-rust-meetup-[0-9a-z]+$/);
  const seriesUrl = new URL(page.url()).pathname;
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Weekly Rust meetup");
  await expect(page.getByTestId("rule-words")).toHaveText("Occurs weekly on Tuesdays");
  const occurrences = page.getByTestId("occurrence");
  await expect(occurrences).toHaveCount(12);
  await expect(occurrences.nth(0)).toContainText("Tue 13 May 2031, 19:00 CEST");
  await expect(occurrences.nth(1)).toContainText("Tue 20 May 2031, 19:00 CEST");
  await expect(occurrences.nth(0)).toHaveAttribute("data-state", "published");
  await expect(occurrences.nth(1)).toHaveAttribute("data-state", "not-yet");

  // Only the first date is on Bluesky, and the page links its record.
  await expect(page.getByTestId("on-bluesky")).toContainText("Tue 13 May 2031, 19:00 CEST");
  let records = await listRecords(organiser.did, EVENTS);
  expect(records).toHaveLength(1);
  expect(records[0].value).toMatchObject({ name: "Weekly Rust meetup", startsAt: "2031-05-13T17:00:00.000Z" });
  expect(records[0].value.description).toContain("Occurs weekly on Tuesdays.");
  const recordHref = (await page.getByTestId("record-link").getAttribute("href")) ?? "";
  expect(recordHref).toContain(encodeURIComponent(records[0].uri.split("/").pop() as string));

  // The guest, in a browser of their own, answers the second date: it is published for them.
  const guestContext = await browser.newContext({ baseURL: testInfo.project.use.baseURL, javaScriptEnabled: javaScript });
  const guestPage = await guestContext.newPage();
  await signIn(guestPage, browser, guest, javaScript);
  await guestPage.goto(seriesUrl);
  await guestPage.getByTestId("occurrence").nth(1).getByRole("link").click();
  await expect(guestPage).toHaveURL(/\/series\/weekly-rust-meetup-[0-9a-z]+\/at\/20310520T170000Z$/);
  await expect(guestPage.getByTestId("event-when")).toContainText("Tue 20 May 2031, 19:00 CEST");
  await guestPage.getByTestId("answer-occurrence").getByRole("button", { name: "Going", exact: true }).click();
  await expect(guestPage).toHaveURL(/\/events\/weekly-rust-meetup-[0-9a-z]+$/);
  await expect(guestPage.getByTestId("my-answer")).toHaveAttribute("data-status", "going");
  await expect(guestPage.getByTestId("series-link")).toHaveAttribute("href", seriesUrl);
  const answers = await listRecords(guest.did, RSVPS);
  expect(answers).toHaveLength(1);
  records = await listRecords(organiser.did, EVENTS);
  expect(records.map((r) => r.value.startsAt).sort()).toEqual(["2031-05-13T17:00:00.000Z", "2031-05-20T17:00:00.000Z"]);
  expect(answers[0].value.subject.uri).toBe(records.find((r) => r.value.startsAt.startsWith("2031-05-20"))?.uri);
  await guestContext.close();

  // The organiser moves the series to 20:00: the dates on Bluesky follow.
  await page.goto(seriesUrl);
  await expect(page.getByTestId("occurrence").nth(1)).toHaveAttribute("data-state", "published");
  await page.getByRole("link", { name: "Edit series" }).click();
  await expect(page.getByLabel("How often")).toHaveValue("weekly");
  await expect(page.getByLabel("Starts")).toHaveValue("2031-05-13T19:00");
  await page.getByLabel("Starts").fill("2031-05-13T20:00");
  await page.getByLabel("Ends").fill("2031-05-13T22:00");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page).toHaveURL(new RegExp(`${seriesUrl}$`));
  await expect(page.getByTestId("occurrence").nth(0)).toContainText("Tue 13 May 2031, 20:00 CEST");
  await expect(page.getByTestId("on-bluesky")).toContainText("20:00");
  records = await listRecords(organiser.did, EVENTS);
  expect(records.map((r) => r.value.startsAt).sort()).toEqual(["2031-05-13T18:00:00.000Z", "2031-05-20T18:00:00.000Z"]);

  // One date gets a name of its own and moves to the Wednesday; the page says so.
  const third = page.getByTestId("occurrence").nth(2);
  await third.getByText("Change this date").click();
  await third.getByLabel("Takes place").fill("2031-05-28T18:30");
  await third.getByLabel("Name for this date").fill("Rust meetup: summer special");
  await third.getByRole("button", { name: "Save this date" }).click();
  const changed = page.getByTestId("occurrence").nth(2);
  await expect(changed.getByTestId("occurrence-name")).toHaveText("Rust meetup: summer special");
  await expect(changed).toContainText("Wed 28 May 2031, 18:30 CEST");
  await expect(changed.getByTestId("moved")).toHaveText("moved from Tue 27 May 2031, 20:00 CEST");
});

test("a rule the form cannot take is explained and nothing is published", async ({ page, browser }, testInfo) => {
  const organiser = await createAccount();
  await signIn(page, browser, organiser, testInfo.project.name === "js");
  await page.goto("/events/new");
  await page.getByLabel("Name").fill("Too often");
  await page.getByLabel("Starts").fill("2031-05-13T19:00");
  await page.getByLabel("How often").selectOption("custom");
  await page.getByLabel("Custom rule").fill("FREQ=DAILY;BYHOUR=9,18");
  await page.getByRole("button", { name: "Publish event" }).click();
  await expect(page.locator('[data-field-error="repeat_rule"]')).toHaveText(
    "The rule makes more than one occurrence a day; a series repeats at most daily.",
  );
  expect(await listRecords(organiser.did, EVENTS)).toHaveLength(0);
});
