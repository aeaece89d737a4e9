import { randomBytes } from "node:crypto";
import { expect, test } from "@playwright/test";
import { createAccount, putRecords } from "./support/pds";

const EVENTS = "community.lexicon.calendar.event";

// Events another app wrote: one word of this run's own, so other tests' events never match.
async function writeEvents() {
  const word = `quokka${randomBytes(3).toString("hex")}`;
  const account = await createAccount();
  const event = (name: string, day: number, extra: object = {}) => ({
    $type: EVENTS,
    name,
    createdAt: "2026-11-24T00:00:00.000Z",
    startsAt: `2031-07-${String(day).padStart(2, "0")}T18:00:00.000Z`,
    ...extra,
  });
  const records = [
    { rkey: "picnic", record: event(`${word} picnic`, 1, {
      mode: `${EVENTS}#inperson`,
      locations: [{ $type: "community.lexicon.location.geo", latitude: "52.52", longitude: "13.405", name: "Tiergarten" }],
    }) },
    { rkey: "webinar", record: event(`${word} webinar`, 2, { mode: `${EVENTS}#virtual` }) },
    { rkey: "gala", record: event(`${word} gala`, 3, { status: `${EVENTS}#cancelled` }) },
  ];
  for (let i = 0; i < 22; i++) {
    records.push({ rkey: `talk${i}`, record: event(`Talk ${String(i).padStart(2, "0")}`, 4 + (i % 20), {
      description: `An evening about ${word} care, part ${i}.`,
    }) });
  }
  await putRecords(account, EVENTS, records);
  return { word, account };
}

test("search, filter, page through and share a search", async ({ page, browser }, testInfo) => {
  const js = testInfo.project.name === "js";
  const { word, account } = await writeEvents();

  // The firehose brings them.
  await expect(async () => {
    await page.goto(`/events?q=${word}+picnic`);
    await expect(page.getByTestId("event-card")).toHaveCount(1, { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });

  await page.goto("/events");
  const box = page.getByLabel("Search events");
  if (js) {
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    // Results as you type: no button pressed, and the address follows.
    await box.pressSequentially(`${word} gal`, { delay: 20 });
    await expect(page).toHaveURL(new RegExp(`q=${word}\\+gal`));
  } else {
    await box.fill(`${word} gal`);
    await page.getByRole("button", { name: "Search" }).click();
    await expect(page).toHaveURL(new RegExp(`q=${word}\\+gal`));
  }
  const cards = page.getByTestId("search-results").getByTestId("event-card");
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toContainText(`${word} gala`);
  await expect(cards.first()).toContainText("Cancelled");
  // The matched words are marked.
  await expect(cards.first().locator("mark")).toHaveText([word, "gala"]);

  // Filters: how people attend, and cancelled events left out.
  await box.fill(word);
  await page.getByLabel("How people attend").selectOption("virtual");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/mode=virtual/);
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toContainText(`${word} webinar`);

  await page.getByLabel("How people attend").selectOption("");
  await page.getByLabel("Hide cancelled").check();
  await page.getByLabel("Organiser").fill(account.handle);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/cancelled=hide/);
  // Names first, then the talks that mention the word: 24 in all, 20 on the first page.
  await expect(cards).toHaveCount(20);
  await expect(cards.nth(0)).not.toContainText("gala");
  // The unfiltered page also has 20 cards and starts alike: wait for the new list itself before
  // reading it once (with JavaScript the list is replaced in place, after the address changes).
  await expect(cards.filter({ hasText: `${word} gala` })).toHaveCount(0);
  const first = await cards.allTextContents();
  expect(first.join(" ")).not.toContain(`${word} gala`);
  const shared = page.url();

  await page.getByTestId("search-next").click();
  await expect(page).toHaveURL(/after=r20/);
  await expect(cards).toHaveCount(4);
  const second = await cards.allTextContents();
  for (const card of second) expect(first).not.toContain(card);

  // The address is the search: opened elsewhere, it shows the same.
  const other = await browser.newPage();
  await other.goto(shared);
  await expect(other.getByTestId("search-results").getByTestId("event-card")).toHaveCount(20);
  await expect(other.getByLabel("Search events")).toHaveValue(word);
  await expect(other.getByLabel("Hide cancelled")).toBeChecked();
  await expect(other.getByLabel("Organiser")).toHaveValue(account.handle);
  await other.close();

  // Near a place: from the event's own page, "Events near here".
  await page.goto(`/events?q=${word}+picnic`);
  await cards.first().getByRole("link").click();
  await page.getByTestId("events-near").click();
  await expect(page).toHaveURL(/near=52\.52%2C13\.405/);
  await expect(page.getByTestId("search-results")).toContainText(`${word} picnic`);

  // By date, a page at a time: this organiser's 25 events, soonest first.
  await page.goto(`/events?by=${account.handle}`);
  await expect(cards).toHaveCount(20);
  await expect(cards.first()).toContainText(`${word} picnic`);
  await page.getByTestId("search-next").click();
  await expect(cards).toHaveCount(5);
  await expect(page.getByTestId("search-next")).toHaveCount(0);
  await page.getByTestId("search-first").click();
  await expect(cards).toHaveCount(20);
});

test("near me: the browser's location, once the viewer allows it", async ({ page, context }, testInfo) => {
  const js = testInfo.project.name === "js";
  const word = `wombat${randomBytes(3).toString("hex")}`;
  const account = await createAccount();
  const at = (name: string, latitude: string, longitude: string) => ({
    $type: EVENTS,
    name: `${word} ${name}`,
    createdAt: "2026-11-24T00:00:00.000Z",
    startsAt: "2031-08-01T18:00:00.000Z",
    locations: [{ $type: "community.lexicon.location.geo", latitude, longitude }],
  });
  await putRecords(account, EVENTS, [
    { rkey: "lisbon", record: at("in Lisbon", "38.7223", "-9.1393") },
    { rkey: "porto", record: at("in Porto", "41.1579", "-8.6291") },
  ]);
  // A viewer in Lisbon who lets the site know where they are.
  await context.setGeolocation({ latitude: 38.7101, longitude: -9.1425 });
  await context.grantPermissions(["geolocation"]);
  const cards = page.getByTestId("search-results").getByTestId("event-card");
  await expect(async () => {
    await page.goto(`/events?q=${word}`);
    await expect(cards).toHaveCount(2, { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });

  if (js) {
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    await page.getByTestId("near-me").click();
    // Rounded to about 100 m before it goes into the address.
    await expect(page).toHaveURL(/near=38\.710%2C\+?-9\.143/);
    await expect(page.getByLabel("Near (latitude, longitude)")).toHaveValue("38.710, -9.143");
  } else {
    // Without JavaScript there is nothing to ask the browser with: the point is typed in.
    await expect(page.getByTestId("near-me")).toHaveCount(0);
    await page.getByLabel("Near (latitude, longitude)").fill("38.710, -9.143");
    await page.getByRole("button", { name: "Search" }).click();
  }
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toContainText(`${word} in Lisbon`);
});
