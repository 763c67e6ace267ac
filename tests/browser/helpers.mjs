// Shared helpers for Parley's browser tests: playwright-core driving Debian's chromium
// against a real `parley` binary (started with the HTTP tests' helpers).
//   useBrowser()      a server and a headless chromium for the whole file
//   launchChromium()  /usr/bin/chromium (or $CHROMIUM) with the flags these tests need
//   openPage()        a new page on a URL, its JavaScript errors collected
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { useServer, standIn, fillBefore, sleep } from '../http/helpers.mjs';

/** Chromium's flags: headless without a sandbox or GPU, and no traffic of its own (QUIC, updates, sync). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launch Debian's chromium ($CHROMIUM or /usr/bin/chromium) headless with CHROMIUM_ARGS. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * Before the file's tests start a server (startServer options) and chromium; after them
 * close the browser, then stop the server. Returns {srv, browser}: stand-ins usable in
 * tests (srv.url, browser.newContext() …); a before hook of the file awaits their ready().
 */
export function useBrowser(serverOptions = {}) {
  const srv = useServer({ hookTimeout: 15000, ...serverOptions });
  const browser = standIn('the browser');
  // tracked by the server: closed before it stops
  fillBefore(browser, async () => srv.track(await launchChromium()), { timeout: 15000 });
  return { srv, browser: browser.proxy };
}

/**
 * Open `url` in a new page of `context` and assert it answered 200. Page errors are pushed
 * onto `errors` (as "LABEL: message" with a label, else the Error itself). With htmx: true,
 * also wait until htmx has loaded and give its event stream a moment to connect.
 */
export async function openPage(context, url, { errors = [], label, htmx = false, timeout } = {}) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(label ? `${label}: ${e.message}` : e));
  const res = await page.goto(url, { waitUntil: 'load', ...(timeout ? { timeout } : {}) });
  assert.equal(res.status(), 200, `GET ${url}`);
  if (htmx) {
    await page.waitForFunction(() => window.htmx !== undefined);
    await sleep(300);
  }
  return page;
}
