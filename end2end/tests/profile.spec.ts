import { expect, test } from "@playwright/test";
import { createAccount, setProfile } from "./support/pds";
import { signIn } from "./support/sign-in";

test("a signed-in person sees their Bluesky profile and can disconnect", async ({ page, browser }, testInfo) => {
  const account = await createAccount();
  await setProfile(account, { displayName: "Robin Example", description: "Runs the Tuesday Rust meetup." });
  await signIn(page, browser, account, testInfo.project.name === "js");

  await page.getByTestId("sign-in-area").getByRole("link", { name: `@${account.handle}` }).click();
  await expect(page).toHaveURL(/\/me$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Robin Example");
  await expect(page.getByRole("main").getByText(`@${account.handle}`, { exact: true })).toBeVisible();
  await expect(page.getByTestId("verified-badge")).toHaveText("✓ Verified via Bluesky");
  await expect(page.getByText("Runs the Tuesday Rust meetup.")).toBeVisible();
  await expect(page.getByTestId("connection-status")).toHaveText("Connected to Bluesky");
  await expect(page.getByText("published to your Bluesky account")).toBeVisible();
  await expect(page.getByRole("link", { name: "View on Bluesky" })).toHaveAttribute(
    "href",
    `https://bsky.app/profile/${account.did}`,
  );

  // A change made elsewhere shows after "Refresh profile".
  await setProfile(account, { displayName: "Robin E.", description: "Runs the Tuesday Rust meetup." });
  await page.getByRole("button", { name: "Refresh profile" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Robin E.");

  await page.getByRole("button", { name: "Disconnect Bluesky" }).click();
  await expect(page.getByTestId("sign-in-area").getByRole("link", { name: "Sign in with Bluesky" })).toBeVisible();
  await page.goto("/me");
  await expect(page.getByText("Sign in to see your profile.")).toBeVisible();
});
