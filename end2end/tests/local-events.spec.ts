import { randomBytes } from "node:crypto";
import { expect, test } from "@playwright/test";
import { signUpAndConfirm } from "./support/mail";
import { createAccount, listRecords } from "./support/pds";
import { connectBluesky } from "./support/sign-in";

const someone = () => `e2e${randomBytes(5).toString("hex")}@example.org`;

test("someone without Bluesky keeps a private event on Skymeet and lets a guest in", async ({ page, browser }, testInfo) => {
  const js = testInfo.project.name === "js";
  const contextOptions = { baseURL: testInfo.project.use.baseURL, javaScriptEnabled: js };
  const name = `Supper ${randomBytes(3).toString("hex")}`;

  await signUpAndConfirm(page, "Ada", someone());
  await page.getByTestId("kept-here").getByRole("link", { name: "New event" }).click();
  await expect(page).toHaveURL(/\/events\/new$/);
  if (js) await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Private: only people you invite").check();
  await page.getByRole("button", { name: "Create event" }).click();
  await expect(page).toHaveURL(/\/events\/[a-z0-9-]+-[0-9a-z]+$/);
  const eventPath = new URL(page.url()).pathname;
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
  await expect(page.getByTestId("visibility")).toHaveText("Private: only people you invite");
  await expect(page.getByText("On Skymeet only").first()).toBeVisible();
  await expect(page.getByTestId("record-json")).toHaveCount(0);
  const invite = new URL((await page.getByTestId("invite-link").textContent())!);
  expect(invite.pathname).toBe(eventPath);
  await page.goto("/me");
  await expect(page.getByTestId("kept-here-list")).toContainText(name);

  // Not signed in, without the link: there is no such event.
  const stranger = await browser.newContext(contextOptions);
  const strangerPage = await stranger.newPage();
  const response = await strangerPage.goto(eventPath);
  expect(response?.status()).toBe(404);
  await expect(strangerPage.getByText(name)).toHaveCount(0);
  await strangerPage.goto("/events");
  await expect(strangerPage.getByText(name)).toHaveCount(0);
  await stranger.close();

  // A second person opens the invitation, answers, and is counted.
  const guest = await browser.newContext(contextOptions);
  const guestPage = await guest.newPage();
  await signUpAndConfirm(guestPage, "Bo", someone());
  await guestPage.goto(invite.pathname + invite.search);
  await expect(guestPage.getByRole("heading", { level: 1 })).toHaveText(name);
  await expect(guestPage.getByTestId("invite-link")).toHaveCount(0);
  if (js) await expect(guestPage.locator("body")).toHaveAttribute("data-hydrated", "true");
  await guestPage.getByTestId("answer-going").click();
  await expect(guestPage.getByTestId("count-going")).toHaveText("1");
  await expect(guestPage.getByTestId("attendees")).toContainText("Bo");
  // A guest from then on: the plain address opens it.
  await guestPage.goto(eventPath);
  await expect(guestPage.getByRole("heading", { level: 1 })).toHaveText(name);
  await guest.close();

  await page.goto(eventPath);
  await expect(page.getByTestId("count-going")).toHaveText("1");
});

test("from signing up with email to connecting Bluesky and publishing the event there", async ({ page, browser }, testInfo) => {
  const js = testInfo.project.name === "js";
  const account = await createAccount();
  const name = `Picnic ${randomBytes(3).toString("hex")}`;

  await signUpAndConfirm(page, "Cy", someone());
  await page.goto("/events/new");
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create event" }).click();
  await expect(page).toHaveURL(/\/events\/[a-z0-9-]+-[0-9a-z]+$/);
  const eventPath = new URL(page.url()).pathname;
  await expect(page.getByText("On Skymeet only").first()).toBeVisible();
  await expect(page.getByTestId("record-json")).toHaveCount(0);

  await connectBluesky(page, browser, account, js);
  await expect(page.getByTestId("sign-in-area").getByRole("link", { name: `@${account.handle}` })).toBeVisible();
  await expect(page.getByTestId("kept-here-list")).toContainText(name);
  if (js) await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByTestId("kept-here").getByTestId("publish-local-event").click();
  await expect(page.getByTestId("kept-here-list")).not.toContainText(name);

  await page.goto(eventPath);
  await expect(page.getByTestId("record-json")).toBeVisible();
  const records = await listRecords(account.did, "community.lexicon.calendar.event");
  expect(records.map((record) => record.value.name)).toEqual([name]);
});
