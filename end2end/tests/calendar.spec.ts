import { expect, test } from "@playwright/test";
import { createAccount } from "./support/pds";
import { signIn } from "./support/sign-in";

test("a private calendar link lists what I go to, and a new link cuts the old one off", async ({
  page,
  browser,
}, testInfo) => {
  const account = await createAccount();
  await signIn(page, browser, account, testInfo.project.name === "js");

  // An event, answered "Going".
  await page.goto("/events/new");
  await page.getByLabel("Name").fill("Calendar feed evening");
  await page.getByLabel("Starts").fill("2031-06-10T19:00");
  await page.getByLabel("Time zone").selectOption("Europe/Berlin");
  await page.getByRole("button", { name: "Publish event" }).click();
  await expect(page).toHaveURL(/\/events\/calendar-feed-evening-[0-9a-z]+$/);
  await page.getByRole("button", { name: "Going", exact: true }).click();
  await expect(page.getByTestId("my-answer")).toHaveAttribute("data-status", "going");

  await page.goto("/me");
  await page.getByRole("button", { name: "Get a private link" }).click();
  const link = page.getByTestId("calendar-feed");
  await expect(link).toHaveValue(/\/feeds\/[0-9a-f]{64}\/going\.ics$/);
  const first = await link.inputValue();
  const feed = await page.request.get(first);
  expect(feed.status()).toBe(200);
  const text = await feed.text();
  expect(text).toContain("SUMMARY:Calendar feed evening\r\n");
  expect(text).toContain("DTSTART;TZID=Europe/Berlin:20310610T190000\r\n");

  await page.getByRole("button", { name: "Make a new link" }).click();
  await expect(link).not.toHaveValue(first);
  const second = await link.inputValue();
  expect((await page.request.get(first)).status()).toBe(404);
  expect((await page.request.get(second)).status()).toBe(200);
});
