import { expect, test } from "@playwright/test";
import { createAccount } from "./support/pds";
import { signIn } from "./support/sign-in";

// A 1×1 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
  "base64",
);

test("an organiser gives an event a header image; a file that is not one is refused", async ({
  page,
  browser,
}, testInfo) => {
  const account = await createAccount();
  await signIn(page, browser, account, testInfo.project.name === "js");
  await page.goto("/events/new");
  await page.getByLabel("Name").fill("Pictured evening");
  await page.getByLabel("Starts").fill("2031-06-10T19:00");
  await page.getByRole("button", { name: "Publish event" }).click();
  await expect(page).toHaveURL(/\/events\/pictured-evening-[0-9a-z]+$/);
  const eventUrl = page.url();

  // Script dressed as an image: refused with the reason, nothing shown.
  const form = page.getByTestId("image-form");
  await form.locator("input[type=file]").setInputFiles({
    name: "sneaky.png",
    mimeType: "image/png",
    buffer: Buffer.from("<svg onload=alert(1)>"),
  });
  await form.getByRole("button", { name: "Upload image" }).click();
  await expect(page.getByTestId("image-error")).toHaveText(
    "That file is not an image Skymeet can use: choose a JPEG, PNG, GIF, WebP or AVIF file.",
  );
  await expect(page.getByTestId("event-image")).toHaveCount(0);

  // A real image: on the organiser's PDS, named by the record, shown with its description.
  await form.locator("input[type=file]").setInputFiles({ name: "sunset.png", mimeType: "image/png", buffer: PNG });
  await form.getByLabel("What it shows").fill("A one-pixel sunset");
  await form.getByRole("button", { name: "Upload image" }).click();
  await expect(page).toHaveURL(eventUrl);
  const image = page.getByTestId("event-image");
  await expect(image).toHaveAttribute("alt", "A one-pixel sunset");
  const src = await image.getAttribute("src");
  const served = await page.request.get(src!);
  expect(served.status()).toBe(200);
  expect(served.headers()["content-type"]).toBe("image/png");
  expect(Buffer.from(await served.body()).equals(PNG)).toBe(true);

  // The edit page shows it and offers the same form.
  await page.goto(`${eventUrl}/edit`);
  await expect(page.getByTestId("current-image")).toHaveAttribute("src", src!);
  await expect(page.getByTestId("image-form")).toBeVisible();
});
