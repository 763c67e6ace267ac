// Shared helpers for Parley's browser tests: playwright-core driving Debian's chromium
// against a real `parley` binary (started with the HTTP tests' helpers).
//   useBrowser()      a server and a headless chromium for the whole file
//   launchChromium()  /usr/bin/chromium (or $CHROMIUM) with the flags these tests need
//   openPage()        a new page on a URL, its JavaScript errors collected
//   streamOpen()      wait until a page's htmx event stream is connected
//   screenshots()     full-page PNGs at a desktop and a phone viewport into $SCREENSHOT_DIR
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
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

/**
 * Wait (at most `timeout` ms) until the page's htmx SSE EventSource (on [sse-connect]) is open.
 * The page's stream starts from the event the page was rendered at (?after=N), so once it is
 * open nothing posted after the page was rendered can be missed.
 */
export async function streamOpen(page, { timeout = 5000 } = {}) {
  await page.waitForFunction(() => {
    const el = document.querySelector('[sse-connect]');
    const data = el && el['htmx-internal-data'];
    return !!(data && data.sseEventSource && data.sseEventSource.readyState === 1);
  }, null, { timeout });
}

/**
 * An init script (context.addInitScript(streamCutter)): the shared stream's fetch (tabs.js)
 * made cuttable. window.__cutStream() ends it as a lost connection would; the URLs it was
 * opened with are kept in window.__streams, and the attempts that failed (no answer)
 * counted in window.__streamFailed.
 */
export function streamCutter() {
  window.__streams = [];
  window.__streamFailed = 0;
  const fetch0 = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === 'string' ? input : input && input.url;
    if (typeof url === 'string' && /^\/events\?/.test(url)) {
      const ctl = new AbortController();
      const theirs = init && init.signal;
      if (theirs) theirs.addEventListener('abort', () => ctl.abort());
      window.__cutStream = () => ctl.abort();
      window.__streams.push(url);
      init = { ...(init || {}), signal: ctl.signal };
    }
    const answer = fetch0.call(this, input, init);
    if (typeof url === 'string' && /^\/events\?/.test(url)) answer.catch(() => { window.__streamFailed++; });
    return answer;
  };
}

/** The viewports screenshots() takes by default. */
export const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

/**
 * With a directory (default $SCREENSHOT_DIR; nothing is written when unset), a full-page PNG
 * of `page` at each viewport, DIR/NAME-VIEWPORT.png; the page's own size is restored after.
 * Returns the paths written.
 */
export async function screenshots(page, name, { dir = process.env.SCREENSHOT_DIR, viewports = VIEWPORTS, timeout = 5000 } = {}) {
  if (!dir) return [];
  fs.mkdirSync(dir, { recursive: true });
  const was = page.viewportSize();
  const paths = [];
  try {
    for (const [label, size] of Object.entries(viewports)) {
      await page.setViewportSize(size);
      // two frames: the layout has settled at the new size
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const file = path.join(dir, `${name}-${label}.png`);
      await page.screenshot({ path: file, fullPage: true, timeout });
      paths.push(file);
    }
  } finally {
    if (was) await page.setViewportSize(was);
  }
  return paths;
}
