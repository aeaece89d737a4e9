import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { expect, type Page } from "@playwright/test";

// With no mail server, the app under test writes each message to an outbox directory.
export function mailTo(address: string): string[] {
  const dir = process.env.E2E_OUTBOX!;
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((name) => name.endsWith(".eml"));
  } catch {
    return [];
  }
  return files
    .map((name) => readFileSync(path.join(dir, name), "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "="))
    .filter((text) => text.toLowerCase().includes(`to: ${address}`));
}

/// The path and query of the last `/{linkPath}?token=` link mailed to `address`.
export async function linkMailed(address: string, linkPath: string): Promise<string> {
  let link = "";
  await expect(async () => {
    const found = mailTo(address)
      .map((text) => text.match(new RegExp(`https?://[^\\s]+/${linkPath}\\?token=[A-Za-z0-9_-]+`)))
      .filter((m) => m !== null);
    expect(found.length).toBeGreaterThan(0);
    link = found[found.length - 1]![0];
  }).toPass({ timeout: 10_000 });
  return new URL(link).pathname + new URL(link).search;
}

/// Makes an email account on `page` and confirms it from the outbox: signed in, on `/me`.
export async function signUpAndConfirm(page: Page, name: string, email: string) {
  await page.goto("/signup");
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password").fill("quokka lantern orbit 47");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/check-inbox\?for=confirm/);
  await page.goto(await linkMailed(email, "confirm-email"));
  await page.getByRole("button", { name: "Confirm and sign in" }).click();
  await expect(page).toHaveURL(/\/me$/);
}
