import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { createAccount, getRecord, listRecords } from "./support/pds";
import { signIn } from "./support/sign-in";

const COLLECTION = "community.lexicon.calendar.event";

test("create, see, edit and delete an event: the PDS holds it first", async ({ page, browser }, testInfo) => {
  const account = await createAccount();
  await signIn(page, browser, account, testInfo.project.name === "js");

  // Create.
  await page.goto("/events/new");
  await page.getByLabel("Name").fill("Rust & Bluesky evening");
  await page.getByLabel("Description").fill("Lightning talks, then pizza.");
  await page.getByLabel("Starts").fill("2031-05-14T18:30");
  await page.getByLabel("Ends").fill("2031-05-14T21:00");
  await page.getByLabel("Time zone").selectOption("Europe/Berlin");
  await page.getByLabel("How people attend").selectOption("hybrid");
  await page.getByLabel("Venue").fill("c-base");
  await page.getByLabel("City").fill("Berlin");
  await page.getByLabel("Country").fill("DE");
  await page.getByLabel("Online at (link)").fill("https://meet.example/rust");
  await page.getByRole("button", { name: "Publish event" }).click();

  // Its address is its name's words, then its id in base 36.
  await expect(page).toHaveURL(/\/events\/rust-bluesky-evening-[0-9a-z]+$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Rust & Bluesky evening");
  await expect(page.getByTestId("event-description")).toHaveText("Lightning talks, then pizza.");
  await expect(page.getByTestId("sync-details").locator("[data-sync-status]")).toHaveText("In sync");
  await expect(page.getByTestId("last-synced")).toHaveText("Last synced just now");
  const atUri = (await page.getByTestId("at-uri").textContent()) ?? "";
  expect(atUri).toMatch(new RegExp(`^at://${account.did}/${COLLECTION}/[a-z2-7]{13}$`));
  const rkey = atUri.split("/").pop() as string;
  const created = await getRecord(account.did, COLLECTION, rkey);
  expect(created.value).toMatchObject({
    name: "Rust & Bluesky evening",
    startsAt: "2031-05-14T16:30:00.000Z",
    mode: `${COLLECTION}#hybrid`,
  });
  const eventUrl = page.url();

  // "Add to calendar" downloads a calendar file holding it, in the organiser's zone.
  const downloading = page.waitForEvent("download");
  await page.getByTestId("add-to-calendar").getByRole("link", { name: "Calendar file (.ics)" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^rust-bluesky-evening-[0-9a-z]+\.ics$/);
  const ics = readFileSync(await download.path(), "utf8");
  expect(ics).toContain("BEGIN:VCALENDAR\r\n");
  expect(ics).toContain("SUMMARY:Rust & Bluesky evening\r\n");
  expect(ics).toContain("DTSTART;TZID=Europe/Berlin:20310514T183000\r\n");
  expect(ics).toContain("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n");
  await expect(page.getByTestId("add-to-calendar").getByRole("link", { name: "Google Calendar" })).toHaveAttribute(
    "href",
    /^https:\/\/calendar\.google\.com\/calendar\/render\?action=TEMPLATE&text=Rust\+%26\+Bluesky\+evening&dates=20310514T163000Z%2F20310514T190000Z/,
  );

  // The numeric address of earlier versions leads to the same page.
  const id = parseInt(eventUrl.split("-").pop() as string, 36);
  await page.goto(`/events/${id}`);
  await expect(page).toHaveURL(eventUrl);

  // It is on the user's page, read from the PDS.
  await page.goto(`/u/${account.handle}`);
  const card = page.getByTestId("event-card").filter({ hasText: "Rust & Bluesky evening" });
  await expect(card).toBeVisible();
  await expect(card.locator("[data-sync-status]")).toHaveText("In sync");
  await card.getByRole("link", { name: "Rust & Bluesky evening" }).click();
  await expect(page).toHaveURL(eventUrl);

  // Edit.
  await page.getByRole("link", { name: "Edit" }).click();
  await expect(page.getByLabel("Name")).toHaveValue("Rust & Bluesky evening");
  await expect(page.getByLabel("Starts")).toHaveValue("2031-05-14T18:30");
  await page.getByLabel("Name").fill("Rust & Bluesky evening (new room)");
  await page.getByRole("button", { name: "Save changes" }).click();
  // Renamed, it keeps its address.
  await expect(page).toHaveURL(eventUrl);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Rust & Bluesky evening (new room)");
  await expect(page.getByTestId("sync-details").locator("[data-sync-status]")).toHaveText("In sync");
  const edited = await getRecord(account.did, COLLECTION, rkey);
  expect(edited.value.name).toBe("Rust & Bluesky evening (new room)");
  expect(edited.value.createdAt).toBe(created.value.createdAt);
  expect(edited.cid).not.toBe(created.cid);

  // Delete.
  await page.getByRole("button", { name: "Delete" }).click();
  await expect(page).toHaveURL(new RegExp(`/u/${account.handle.replace(".", "\\.")}$`));
  await expect(page.getByText("No events yet.")).toBeVisible();
  expect(await getRecord(account.did, COLLECTION, rkey)).toBeNull();
  expect(await listRecords(account.did, COLLECTION)).toHaveLength(0);
});

test("the form explains each bad field and publishes nothing", async ({ page, browser }, testInfo) => {
  const account = await createAccount();
  await signIn(page, browser, account, testInfo.project.name === "js");
  await page.goto("/events/new");
  await page.getByLabel("Name").fill("Backwards");
  await page.getByLabel("Starts").fill("2031-05-14T18:30");
  await page.getByLabel("Ends").fill("2031-05-14T17:00");
  await page.getByRole("button", { name: "Publish event" }).click();
  await expect(page.locator('[data-field-error="ends_at"]')).toHaveText("The end must be after the start.");
  await expect(page.getByTestId("form-error")).toHaveText("Some fields need another look.");
  expect(await listRecords(account.did, COLLECTION)).toHaveLength(0);
});

test("a guest can read events but is asked to sign in to publish", async ({ page }) => {
  await page.goto("/events/new");
  await expect(page.getByText("Sign in with Bluesky to publish events.")).toBeVisible();
  await page.goto("/events");
  await expect(page.getByRole("heading", { name: "Events", level: 1 })).toBeVisible();
  const response = await page.goto("/events/999999999");
  expect(response?.status()).toBe(404);
});
