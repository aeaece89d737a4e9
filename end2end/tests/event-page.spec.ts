import { expect, test } from "@playwright/test";
import { createAccount, putRecord } from "./support/pds";

const EVENTS = "community.lexicon.calendar.event";

// The browser runs in Paris; the event was written by another app in Chicago.
test.use({ timezoneId: "Europe/Paris" });

test("an event from another app shows in my zone, beside its own, with every place it names", async ({ page }, testInfo) => {
  const account = await createAccount();
  await putRecord(account, EVENTS, "lakeside", {
    $type: EVENTS,
    name: "Lakeside meetup",
    createdAt: "2026-11-24T00:00:00.000Z",
    startsAt: "2031-06-01T23:00:00.000Z",
    timezone: "America/Chicago",
    locations: [
      { $type: "community.lexicon.location.address", name: "Navy Pier", locality: "Chicago", country: "US" },
      { $type: "community.lexicon.location.geo", latitude: "41.8916", longitude: "-87.6079" },
      { $type: "com.example.room", name: "Room 4" },
    ],
  });

  // The firehose brings it; the organiser's page then links to its page here.
  let href: string | null = null;
  await expect(async () => {
    await page.goto(`/u/${account.handle}`);
    href = await page.getByTestId("event-card").getByRole("link").first().getAttribute("href", { timeout: 1_000 });
    expect(href).toMatch(/^\/events\/lakeside-meetup-[0-9a-z]+$/);
  }).toPass({ timeout: 30_000 });
  await page.goto(href!);

  if (testInfo.project.name === "js") {
    // The browser's zone is found and kept: times change to Paris, the event's own beside them.
    await expect(page.getByTestId("event-when")).toHaveText("Mon 2 Jun 2031, 01:00 CEST");
    await expect(page.getByTestId("event-own-zone")).toHaveText(
      "In the event's time zone (America/Chicago): Sun 1 Jun 2031, 18:00 CDT",
    );
    await page.reload();
    await expect(page.getByTestId("event-when")).toHaveText("Mon 2 Jun 2031, 01:00 CEST");
  } else {
    // Without JavaScript the browser's zone is unknown: the event's own, labelled.
    await expect(page.getByTestId("event-when")).toHaveText("Sun 1 Jun 2031, 18:00 CDT");
    await expect(page.getByTestId("event-own-zone")).toHaveText("In the event's own time zone, America/Chicago.");
  }

  // Another zone, picked: the server writes the times again, in place with JavaScript.
  await page.getByLabel("Times shown in").selectOption("Asia/Tokyo");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByTestId("event-when")).toHaveText("Mon 2 Jun 2031, 08:00 JST");
  await expect(page.getByTestId("event-own-zone")).toHaveText(
    "In the event's time zone (America/Chicago): Sun 1 Jun 2031, 18:00 CDT",
  );

  const places = page.getByTestId("place");
  await expect(places).toHaveCount(3);
  await expect(places.nth(0)).toContainText("Navy Pier");
  await expect(places.nth(1).getByRole("link", { name: /on the map$/ })).toHaveAttribute("href", /openstreetmap\.org\/\?mlat=41\.8916&mlon=-87\.6079/);
  // A point also leads to the events around it.
  await expect(places.nth(1).getByTestId("events-near")).toHaveAttribute("href", "/events?near=41.8916%2C-87.6079");
  await expect(places.nth(2)).toContainText("Room 4");

  // The record itself, as JSON, with the fields only other apps know.
  await page.getByTestId("record-json").click();
  await expect(page.locator("body")).toContainText('"timezone":"America/Chicago"');
});
