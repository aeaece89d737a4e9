import { expect, test, type Page } from "@playwright/test";

// The browser build is split (scripts/build.sh, tools/wasm-split): the main module holds the shell
// and the home page, and every other page's code is fetched when that page is first shown. The
// first page whose code is fetched takes all its split files in one pack (scripts/pack-pages.mjs);
// a page after it fetches only the files it lacks, one by one.

/** A page's pack of split files. */
const PACK = /^\/pkg\/pack_[\w.-]+\.bin$/;
/** The main module. */
const MAIN = /^\/pkg\/skymeet\.[\w-]+\.wasm$/;
/** Whether `path` is the browser's code: the main module, a split file or a pack. */
const isCode = (path: string) => path.startsWith("/pkg/") && (path.endsWith(".wasm") || PACK.test(path));

/** The code the page fetches from now on, split into the main module and the rest. */
function wasmFetches(page: Page) {
  const fetched = { main: [] as string[], split: [] as string[] };
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (!isCode(path)) return;
    (MAIN.test(path) ? fetched.main : fetched.split).push(path);
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
    // code, in its pack (no page's code was loaded before it), and the main module was not
    // fetched again.
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
    expect(fetched.split).toHaveLength(1);
    expect(fetched.split[0]).toMatch(PACK);
    expect(fetched.main).toHaveLength(mainFetches);
  }
});

test("a page opened directly fetches its own code and comes alive", async ({ page }, testInfo) => {
  const js = testInfo.project.name === "js";
  const files: { path: string; status: number; cache: string }[] = [];
  page.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (isCode(path)) {
      files.push({ path, status: response.status(), cache: response.headers()["cache-control"] ?? "" });
    }
  });
  await page.goto("/events");
  await expect(page.getByRole("heading", { level: 1, name: "Events" })).toBeVisible();
  // The server's HTML names the page's pack (all its own files) beside the main module, so the
  // browser fetches them all at once as it reads the page (src/app/preload.rs), each once.
  const preloaded = await page.locator('head link[rel="preload"][as="fetch"]').evaluateAll((links) =>
    links.map((link) => new URL((link as HTMLLinkElement).href).pathname),
  );
  expect(new Set(preloaded).size).toBe(preloaded.length);
  for (const path of preloaded) expect(isCode(path), path).toBe(true);
  const preloadedSplit = preloaded.filter((path) => !MAIN.test(path));
  expect(preloadedSplit).toHaveLength(1);
  expect(preloadedSplit[0]).toMatch(PACK);
  await expect(page.locator('head link[rel="modulepreload"][href*="__wasm_split."]')).toHaveCount(1);
  if (js) {
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    // Before it took the page over, the browser fetched the page's own files beside the main
    // module: the pack the link named, and no split file on its own.
    const split = new Set(files.map((f) => f.path).filter((path) => !MAIN.test(path)));
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

test("a page shown after another fetches only the files it lacks, one by one", async ({ page }, testInfo) => {
  const js = testInfo.project.name === "js";
  await page.goto("/events");
  await expect(page.getByRole("heading", { level: 1, name: "Events" })).toBeVisible();
  if (js) await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  const fetched = wasmFetches(page);
  if (js) await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  await page.getByRole("banner").getByRole("link", { name: "Sign in with Bluesky" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { level: 1, name: "Sign in with Bluesky" })).toBeVisible();
  // (Without JavaScript that was a page load, and the sign-in page works as a plain form.)
  if (js) {
    // Routed in the browser: the sign-in page's own file at least, and no pack (the chunks it
    // shares with the events page are loaded already); no file twice, no main module again.
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
    expect(fetched.split.length).toBeGreaterThan(0);
    for (const path of fetched.split) expect(path).toMatch(/^\/pkg\/[\w.-]+\.wasm$/);
    expect(new Set(fetched.split).size).toBe(fetched.split.length);
    expect(fetched.main).toEqual([]);
  }
});
