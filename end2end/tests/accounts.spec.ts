import { randomBytes } from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { linkMailed, mailTo } from "./support/mail";

async function submit(page: Page, button: string) {
  await page.getByRole("button", { name: button }).click();
}

test("sign up, confirm, sign out, forget the password and choose a new one", async ({ page }, testInfo) => {
  const js = testInfo.project.name === "js";
  const email = `e2e${randomBytes(5).toString("hex")}@example.org`;
  const name = `Ada ${randomBytes(2).toString("hex")}`;

  await page.goto("/login");
  if (js) await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.getByRole("link", { name: "Make an account" }).click();
  await expect(page).toHaveURL(/\/signup$/);

  // A weak password is refused with a reason, next to the field.
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password").fill("password1234");
  await submit(page, "Sign up");
  await expect(page.locator("[data-field-error=password]")).toBeVisible();
  expect(mailTo(email)).toHaveLength(0);

  // Without JavaScript the form comes back empty after an error; with it, as it was.
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password").fill("quokka lantern orbit 47");
  await submit(page, "Sign up");
  await expect(page).toHaveURL(/\/check-inbox\?for=confirm/);
  await expect(page.getByTestId("check-inbox")).toContainText("confirm your address");

  // The link asks for a click (a mail scanner opening it spends nothing), then signs in.
  await page.goto(await linkMailed(email, "confirm-email"));
  await submit(page, "Confirm and sign in");
  await expect(page).toHaveURL(/\/me$/);
  await expect(page.getByTestId("local-profile")).toContainText(name);
  await expect(page.getByTestId("profile-email")).toHaveText(email);
  await expect(page.getByTestId("sign-in-area")).toContainText(name);

  // Signing out everywhere ends this session.
  await submit(page, "Sign out everywhere");
  await expect(page.getByTestId("sign-in-area").getByRole("link", { name: "Sign in with Bluesky" })).toBeVisible();

  // A wrong password: the same message as for an unknown address.
  await page.goto("/login");
  if (js) await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  const form = page.getByTestId("email-sign-in-form");
  await form.getByLabel("Email address").fill(email);
  await form.getByLabel("Password").fill("not the password at all");
  await form.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("form-error")).toHaveText("That email address and password do not match an account.");

  // Forgot it: a link to choose a new one.
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  // With JavaScript the login page stays until the next page's code has arrived (it is split
  // out of the main module): its own email field would take the address.
  await expect(page.getByRole("heading", { level: 1, name: "Forgot your password?" })).toBeVisible();
  await page.getByLabel("Email address").fill(email);
  await submit(page, "Send the link");
  await expect(page).toHaveURL(/\/check-inbox\?for=reset/);
  const reset = await linkMailed(email, "reset-password/new");
  await page.goto(reset);
  await page.getByLabel("New password").fill("marble tundra violin 93");
  await submit(page, "Save the new password");
  await expect(page).toHaveURL(/\/me$/);
  await expect(page.getByTestId("local-profile")).toContainText(name);

  // The link worked once: opened again, it says so clearly.
  await page.goto(reset);
  await page.getByLabel("New password").fill("another fine passphrase 12");
  await submit(page, "Save the new password");
  await expect(page.getByTestId("form-error")).toContainText("This link was used already.");
});
