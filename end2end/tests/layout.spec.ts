import { expect, test } from "@playwright/test";

test("the home page shows the site layout", async ({ page }) => {
  const response = await page.goto("/");
  expect(response?.status()).toBe(200);
  await expect(page).toHaveTitle("Upcoming events · Skymeet");
  await expect(page.getByRole("banner").getByRole("link", { name: "Skymeet" })).toBeVisible();
  await expect(page.getByTestId("sign-in-area").getByRole("link", { name: "Sign in with Bluesky" })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Meet up, on your own terms.");
  await expect(page.getByRole("heading", { name: "Upcoming events" })).toBeVisible();
  await expect(page.getByRole("contentinfo")).toContainText("Your events live in your own PDS");
  await expect(page.getByLabel("Times shown in")).toBeVisible();
});

test("the stylesheet is applied", async ({ page }) => {
  await page.goto("/");
  // Tailwind's bg-sky-600 -> from-sky-600 gradient on the hero: the page is styled, not bare HTML.
  const hero = page.locator("main section").first();
  const background = await hero.evaluate((el) => getComputedStyle(el).backgroundImage);
  expect(background).toContain("gradient");
});

test("an unknown address shows the 404 page", async ({ page }, testInfo) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  // The whole layout is in the first HTML sent: nothing waits for JavaScript to fill it in.
  await expect(page.getByTestId("sign-in-area").getByRole("link", { name: "Sign in with Bluesky" })).toBeVisible();
  // No zone picked: each event's own, until the page runs and finds the browser's.
  await expect(page.getByLabel("Times shown in")).toHaveValue(testInfo.project.name === "js" ? "Europe/Berlin" : "");
  await page.getByRole("link", { name: "Back to upcoming events" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { name: "Upcoming events" })).toBeVisible();
});
