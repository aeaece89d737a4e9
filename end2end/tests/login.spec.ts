import { expect, test } from "@playwright/test";
import { createAccount } from "./support/pds";
import { signIn } from "./support/sign-in";

test("a new Bluesky account signs in, signs out and signs in again", async ({ page, browser }, testInfo) => {
  const javaScript = testInfo.project.name === "js";
  const account = await createAccount();
  const signInArea = page.getByTestId("sign-in-area");

  await signIn(page, browser, account, javaScript);
  await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/$/);
  await expect(signInArea).toContainText(`@${account.handle}`);

  await signInArea.getByRole("button", { name: "Sign out" }).click();
  await expect(signInArea.getByRole("link", { name: "Sign in with Bluesky" })).toBeVisible();
  await page.reload();
  await expect(signInArea.getByRole("link", { name: "Sign in with Bluesky" })).toBeVisible();

  await signIn(page, browser, account, javaScript);
  await expect(signInArea).toContainText(`@${account.handle}`);
});

test("an unknown handle gets a clear message on the login page", async ({ page }) => {
  await page.goto("/login");
  await expect(page.getByLabel("Times shown in")).toHaveValue("UTC");
  await page.getByLabel("Your handle or DID").fill("nobody-at-all.test");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("alert")).toContainText("No Bluesky account was found for nobody-at-all.test");
  await expect(page).toHaveURL(/\/login/);
});

test("a refused consent brings a clear message, not an error page", async ({ page }) => {
  const response = await page.goto("/oauth/callback?error=access_denied&state=unknown");
  expect(response?.status()).toBe(200);
  await expect(page).toHaveURL(/\/login\?error=denied$/);
  await expect(page.getByRole("alert")).toContainText("You declined the sign-in");
});
