import { expect, test } from "@playwright/test";

// Each test gets a fresh browser context, hence a session of its own.
test.use({ timezoneId: "Europe/Paris" });

test("times are in the browser's zone, or the one the visitor picks", async ({ page }, testInfo) => {
  await page.goto("/");

  if (testInfo.project.name === "js") {
    // Hydrated: the browser's zone is found and kept, without a reload.
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    await expect(page.getByTestId("viewer-zone")).toHaveText("Times are shown in Europe/Paris.");
    // The form is sent in the background and the page updates in place, no reload.
    await page.evaluate(() => ((window as any).__beforeSubmit = "still here"));
  } else {
    // Without JavaScript the browser's zone is unknown: each event in its own.
    await expect(page.getByTestId("viewer-zone")).toHaveText("Times are shown in each event's own time zone.");
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
