import { expect, test } from "@playwright/test";
import { createAccount, putRecord, setProfile } from "./support/pds";
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

test("signing in claims the events the firehose saw before, and /me says so", async ({ page, browser }, testInfo) => {
  const account = await createAccount();
  const name = `Seen before sign-in ${testInfo.project.name} ${Date.now()}`;
  const alphabet = "234567abcdefghijklmnopqrstuvwxyz";
  const rkey = "3m" + Array.from({ length: 11 }, () => alphabet[Math.floor(Math.random() * 32)]).join("");
  await putRecord(account, "community.lexicon.calendar.event", rkey, {
    $type: "community.lexicon.calendar.event",
    name,
    startsAt: "2031-01-01T10:00:00.000Z",
    createdAt: "2026-11-24T00:00:00.000Z",
  });
  // The firehose brings it, for someone who has never signed in.
  await expect(async () => {
    await page.goto("/events");
    await expect(page.getByText(name)).toBeVisible({ timeout: 1000 });
  }).toPass();

  await signIn(page, browser, account, testInfo.project.name === "js");
  await page.goto("/me");
  await expect(page.getByTestId("claimed")).toContainText("became yours on");
  await page.goto(`/u/${account.handle}`);
  await expect(page.getByTestId("event-card").filter({ hasText: name })).toBeVisible();
});
