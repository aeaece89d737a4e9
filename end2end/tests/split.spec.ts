import { expect, test, type Page } from "@playwright/test";

// The browser build is split (scripts/build.sh, tools/wasm-split): the main module holds the shell
// and the home page, and every other page's code is fetched when that page is first shown.

/** The `/pkg/` wasm files the page fetches from now on, split into the main module and the rest. */
function wasmFetches(page: Page) {
  const fetched = { main: [] as string[], split: [] as string[] };
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (!path.startsWith("/pkg/") || !path.endsWith(".wasm")) return;
    (/^\/pkg\/skymeet\.[\w-]+\.wasm$/.test(path) ? fetched.main : fetched.split).push(path);
  });
  return fetched;
}

test("the home page needs only the main module, and a page's own code comes when it is shown", async ({ page }, testInfo) => {
  const js = testInfo.project.name === "js";
  const fetched = wasmFetches(page);
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Upcoming events" })).toBeVisible();
  if (js) await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  // (Without JavaScript the browser may still follow the page's preload links, which name only
  // the main module here.)
  if (js) expect(fetched.main.length).toBeGreaterThan(0);
  expect(fetched.split).toEqual([]);
  const mainFetches = fetched.main.length;

  if (js) await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  await page.getByRole("banner").getByRole("link", { name: "Events", exact: true }).click();
  await expect(page).toHaveURL(/\/events$/);
  await expect(page.getByRole("heading", { level: 1, name: "Events" })).toBeVisible();
  if (js) {
    // Routed in the browser (no page load dropped the mark): the page came from its split-out
    // code, and the main module was not fetched again.
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
    expect(fetched.split.length).toBeGreaterThan(0);
    expect(fetched.main).toHaveLength(mainFetches);
  }
});

test("a page opened directly fetches its own code and comes alive", async ({ page }, testInfo) => {
  const js = testInfo.project.name === "js";
  const files: { path: string; status: number; cache: string }[] = [];
  page.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (path.startsWith("/pkg/") && path.endsWith(".wasm")) {
      files.push({ path, status: response.status(), cache: response.headers()["cache-control"] ?? "" });
    }
  });
  await page.goto("/events");
  await expect(page.getByRole("heading", { level: 1, name: "Events" })).toBeVisible();
  // The server's HTML names the page's own files beside the main module, so the browser fetches
  // them all at once as it reads the page (src/app/preload.rs), each once.
  const preloaded = await page.locator('head link[rel="preload"][as="fetch"]').evaluateAll((links) =>
    links.map((link) => new URL((link as HTMLLinkElement).href).pathname),
  );
  expect(new Set(preloaded).size).toBe(preloaded.length);
  for (const path of preloaded) expect(path).toMatch(/^\/pkg\/[\w.-]+\.wasm$/);
  const preloadedSplit = preloaded.filter((path) => !/^\/pkg\/skymeet\.[\w-]+\.wasm$/.test(path));
  expect(preloadedSplit.length).toBeGreaterThan(0);
  await expect(page.locator('head link[rel="modulepreload"][href*="__wasm_split."]')).toHaveCount(1);
  if (js) {
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    // Before it took the page over, the browser fetched the page's own files beside the main
    // module: the ones the links named.
    const split = new Set(files.map((f) => f.path).filter((path) => !/^\/pkg\/skymeet\.[\w-]+\.wasm$/.test(path)));
    expect([...split].sort()).toEqual(preloadedSplit.sort());
    // Alive: the router takes the link back home, without a page load (which would drop the mark).
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    await page.getByRole("banner").getByRole("link", { name: "Skymeet" }).click();
    await expect(page.getByRole("heading", { name: "Upcoming events" })).toBeVisible();
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  }
  // Every file the browser asked for (with JavaScript off, only what preload links name) is
  // there, named by its content and cached for good.
  for (const file of files) {
    expect(file.status, file.path).toBe(200);
    expect(file.cache, file.path).toContain("immutable");
  }
});
