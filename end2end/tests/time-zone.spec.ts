import { expect, test } from "@playwright/test";

// Each test gets a fresh browser context, hence a session of its own.

test("a visitor picks the time zone times are shown in", async ({ page }, testInfo) => {
  await page.goto("/");
  await expect(page.getByTestId("viewer-zone")).toHaveText("Times are shown in UTC.");

  if (testInfo.project.name === "js") {
    // Hydrated: the form is sent in the background and the page updates in place, no reload.
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    await page.evaluate(() => ((window as any).__beforeSubmit = "still here"));
  }

  await page.getByLabel("Times shown in").selectOption("Asia/Tokyo");
  await page.getByRole("button", { name: "Save" }).click();

  await expect(page.getByTestId("viewer-zone")).toHaveText("Times are shown in Asia/Tokyo.");
  await expect(page.getByLabel("Times shown in")).toHaveValue("Asia/Tokyo");
  if (testInfo.project.name === "js") {
    await expect(page.getByRole("status")).toHaveText("Saved: times are now shown in Asia/Tokyo.");
    expect(await page.evaluate(() => (window as any).__beforeSubmit)).toBe("still here");
  }

  // The choice is kept in the session.
  await page.reload();
  await expect(page.getByTestId("viewer-zone")).toHaveText("Times are shown in Asia/Tokyo.");
});
