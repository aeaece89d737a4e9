import { expect, test } from "@playwright/test";
import { createAccount } from "./support/pds";
import { approveAndCatchCallback, signIn } from "./support/sign-in";

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

test("an unknown handle gets a clear message on the login page", async ({ page }, testInfo) => {
  await page.goto("/login");
  // No zone picked: each event's own, until the page runs and finds the browser's.
  await expect(page.getByLabel("Times shown in")).toHaveValue(testInfo.project.name === "js" ? "Europe/Berlin" : "");
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

test("a sign-in link started in another browser is refused", async ({ page, browser }, testInfo) => {
  // Someone starts a sign-in with their own account and plants the way back on a victim.
  const account = await createAccount();
  const planter = await browser.newContext({ baseURL: testInfo.project.use.baseURL });
  const callbackUrl = await approveAndCatchCallback(await planter.newPage(), browser, account);
  await planter.close();

  await page.goto(callbackUrl);
  await expect(page).toHaveURL(/\/login\?error=failed$/);
  await expect(page.getByRole("alert")).toContainText("The sign-in could not be completed");
  await expect(page.getByTestId("sign-in-area").getByRole("link", { name: "Sign in with Bluesky" })).toBeVisible();
});
