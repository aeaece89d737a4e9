import { Browser, expect, Page } from "@playwright/test";
import { Account, pdsUrl } from "./pds";

/**
 * Fills the PDS's own sign-in and consent pages (a JavaScript app) in `page`, whatever the PDS
 * asks for: a password when it does not know this browser yet, then consent.
 */
async function approveAtPds(page: Page, account: Account, beforeConsent: () => Promise<void> = async () => {}) {
  const password = page.getByLabel("Password", { exact: true });
  const authorize = page.getByRole("button", { name: "Authorize" });
  await expect(password.or(authorize)).toBeVisible();
  // The PDS's page is a JavaScript app: under load, a password typed before it is ready can be
  // wiped (the form then stays, empty). So the sign-in is repeated until the consent shows.
  await expect(async () => {
    if (await password.isVisible()) {
      const username = page.getByLabel("Username or Email");
      if ((await username.inputValue()) === "") await username.fill(account.handle);
      await password.fill(account.password);
      await page.getByRole("button", { name: "Sign in" }).click();
    }
    await expect(authorize).toBeVisible({ timeout: 5_000 });
  }).toPass({ timeout: 40_000 });
  await beforeConsent();
  await authorize.click();
}

/**
 * Signs in through Skymeet's /login page and the PDS. Without JavaScript, Skymeet's pages stay in
 * the JS-less `page`, and the PDS's pages (which need JavaScript) open in a separate JavaScript
 * browser context; the redirect back to Skymeet is then followed in `page`, as a browser would.
 */
export async function signIn(page: Page, browser: Browser, account: Account, javaScript: boolean) {
  if (javaScript) {
    await page.goto("/login");
    await page.getByLabel("Your handle or DID").fill(account.handle);
    await page.getByRole("button", { name: "Continue" }).click();
    await approveAtPds(page, account);
  } else {
    await page.goto(await approveAndCatchCallback(page, browser, account));
  }
  // Back on Skymeet, signed in (and done redirecting).
  await expect(page.getByTestId("sign-in-area").getByRole("link", { name: `@${account.handle}` })).toBeVisible();
}

/** A form of Skymeet's that starts the OAuth flow: where it is, its field, its button, its post. */
interface Start {
  path: string;
  field: string;
  button: string;
  post: string;
}

const SIGN_IN: Start = { path: "/login", field: "Your handle or DID", button: "Continue", post: "**/api/login" };
const CONNECT: Start = { path: "/me", field: "Bluesky handle", button: "Connect Bluesky", post: "**/api/connect_bluesky" };

/**
 * Connects Bluesky to the email account signed in on `page`, from `/me`, through the PDS (in a
 * separate JavaScript context when `page` has no JavaScript, as for signing in); back on `/me`.
 */
export async function connectBluesky(page: Page, browser: Browser, account: Account, javaScript: boolean) {
  if (javaScript) {
    await page.goto(CONNECT.path);
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    await page.getByLabel(CONNECT.field).fill(account.handle);
    await page.getByRole("button", { name: CONNECT.button }).click();
    await approveAtPds(page, account);
  } else {
    await page.goto(await approveAndCatchCallback(page, browser, account, CONNECT));
  }
  await expect(page).toHaveURL(/\/me$/);
}

/**
 * Starts signing in from Skymeet's /login page in `page` (or another form that starts the flow),
 * approves at the PDS in a separate JavaScript browser context, and returns the URL the PDS sends
 * the browser back to, without following it: the caller decides which browser opens it.
 */
export async function approveAndCatchCallback(
  page: Page,
  browser: Browser,
  account: Account,
  start: Start = SIGN_IN,
): Promise<string> {
  await page.goto(start.path);
  await page.getByLabel(start.field).fill(account.handle);
  // The form post answers with a redirect to the PDS; keep it from being followed here (routes
  // do not see redirected requests, so the post itself is sent without following redirects).
  let authorizeUrl = "";
  await page.route(start.post, async (route) => {
    const response = await route.fetch({ maxRedirects: 0 });
    authorizeUrl = response.headers()["location"] ?? "";
    await route.fulfill({ status: 200, contentType: "text/html", body: "<p>Continuing at the PDS</p>" });
  });
  await page.getByRole("button", { name: start.button }).click();
  await expect.poll(() => authorizeUrl).toContain(`${pdsUrl}/oauth/authorize`);
  await page.unroute(start.post);

  const pdsContext = await browser.newContext({ javaScriptEnabled: true });
  const pdsPage = await pdsContext.newPage();
  // Catch the way back to Skymeet without following it in this context. The PDS sends the
  // browser to its own `/oauth/authorize/redirect` page, which answers with a redirect to
  // `redirect_uri` carrying `code`, `state` and `iss` in the query (`redirect_mode=query`); routes
  // never see redirected requests, so that URL is built here from the same parameters.
  let callbackUrl = "";
  const back = (url: string) => {
    callbackUrl = url;
    return { status: 200, contentType: "text/html", body: "<p>Back to Skymeet</p>" };
  };
  const catchWayBack = async () => {
    await pdsPage.route("**/oauth/callback**", (route) => route.fulfill(back(route.request().url())));
    await pdsPage.route(`${pdsUrl}/oauth/authorize/redirect**`, (route) => {
      const params = new URL(route.request().url()).searchParams;
      const callback = new URL(params.get("redirect_uri") ?? "");
      for (const name of ["code", "state", "iss", "error", "error_description"]) {
        const value = params.get(name);
        if (value !== null) callback.searchParams.set(name, value);
      }
      return route.fulfill(back(callback.href));
    });
  };
  await pdsPage.goto(authorizeUrl);
  await approveAtPds(pdsPage, account, catchWayBack);
  await expect.poll(() => callbackUrl).not.toBe("");
  await pdsContext.close();
  return callbackUrl;
}
