// Parley on a phone (390x844, touch): no page scrolls sideways, every control is big enough
// to tap (44 px), the chat keeps its composer in view when the keyboard takes half the
// screen, and Enter is a new line (the Send button sends). With $SCREENSHOT_DIR set, each
// main page is saved at a desktop and a phone size (NAME-desktop.png, NAME-phone.png) and
// as a touch phone renders it (NAME-touch.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, chatWithBots, postMessage, eventually, sleep, uniqueName } from '../http/helpers.mjs';
import { useBrowser, streamOpen, screenshots, VIEWPORTS } from './helpers.mjs';

const T = { timeout: 30000 };
const MSG = '#messages > article[id^=msg-]';
const TOUCH = { touch: VIEWPORTS.phone };
const MIN_TAP = 44;

const { srv, browser } = useBrowser();
let phone; // a touch phone's browser
let desktop; // a desktop browser, for the screenshots
let tab; // a tab of the phone, reused from page to page
let chat;
let bots;
const pageErrors = [];

before(async () => {
  await srv.ready();
  await browser.ready();
  ({ chat, bots } = await chatWithBots(srv.url, 'Weekend plans', [
    { name: uniqueName('Parrot'), backend: 'echo', persona: 'Repeats what was said.' },
    { name: uniqueName('Roller'), backend: 'dice' },
  ], { policy: 'manual' }));
  // messages of every kind a phone must fit: short, long, an unbroken address, code, a bot's
  await postMessage(srv.url, chat.id, 'Shall we go hiking on Saturday?', 'Ada');
  await postMessage(srv.url, chat.id, 'Sounds good. The trail map is at '
    + 'https://example.org/trails/a-very-long-path/that-does-not-break/anywhere-at-all?with=query&and=more', 'Grace');
  await postMessage(srv.url, chat.id, 'Packing list:\n\n```\nwater  2 l   sandwiches  4   sun cream  1   map  1   first-aid kit  1\n```\n\n- boots\n- hat', 'Ada');
  await postMessage(srv.url, chat.id, 'roll 2d6 for who drives', 'Grace');
  const asked = await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot: bots[1].name });
  assert.equal(asked.status, 202);
  await eventually(async () => {
    const r = await api(srv.url, 'GET', `/api/v1/chats/${chat.id}/messages`);
    return r.json.messages.some((m) => m.kind === 'bot' && m.state === 'complete');
  }, { timeout: 10000, what: 'the dice bot\'s reply' });
  phone = await browser.newContext({ viewport: VIEWPORTS.phone, hasTouch: true, isMobile: true });
  desktop = await browser.newContext({ viewport: VIEWPORTS.desktop });
  for (const c of [phone, desktop]) {
    c.setDefaultTimeout(5000);
    c.setDefaultNavigationTimeout(5000);
  }
  tab = await phone.newPage();
  tab.on('pageerror', (e) => pageErrors.push(`${tab.url()}: ${e.message}`));
}, { timeout: 20000 });

after(async () => {
  if (phone) await phone.close();
  if (desktop) await desktop.close();
});

/** The main pages: [name, path, what to open once loaded (a <details> selector) or null]. */
const pages = () => [
  ['index', '/', null],
  ['chat', `/chats/${chat.id}`, null],
  ['bots', '/bots', null],
  ['bot-form', '/bots', `#bot-${bots[0].id} > details`],
  ['settings', `/chats/${chat.id}`, '#chat .chat-settings'],
];

/** Go to `path` in `page` (200, htmx loaded), with the <details> `open` (when given) opened. */
async function show(page, path, open) {
  const res = await page.goto(srv.url + path, { waitUntil: 'load' });
  assert.equal(res.status(), 200, `GET ${path}`);
  await page.waitForFunction(() => window.htmx !== undefined);
  if (open) {
    await page.locator(`${open} > summary`).click();
    await page.waitForFunction((sel) => document.querySelector(sel).open, open);
  }
  return page;
}

/** Name oneself in the composer, unless the name is remembered already (it folds into "Posting as NAME"). */
async function nameSelf(page) {
  const author = page.locator('#composer [name=author]');
  if (await author.isVisible()) {
    await author.fill('Ada');
    await author.dispatchEvent('change');
  }
  await page.locator('#composer .posting-as').waitFor({ state: 'visible' });
}

/**
 * The visible interactive elements inside `scopes` (selectors) of the page whose tap box
 * (their own box, or that of the <label> holding them) is under MIN_TAP px tall, each as
 * "SCOPE: tag.class "text" NN px".
 */
function smallTargets(page, scopes) {
  return page.evaluate(({ scopes, min }) => {
    const out = [];
    const seen = new Set();
    for (const scope of scopes) {
      for (const root of document.querySelectorAll(scope)) {
        for (const el of root.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
          if (seen.has(el)) continue;
          seen.add(el);
          if (!el.checkVisibility({ checkVisibilityCSS: true, checkOpacity: false })) continue;
          const r = el.getBoundingClientRect();
          if (r.width === 0 || r.height === 0) continue;
          const label = el.closest('label');
          const h = Math.max(r.height, label ? label.getBoundingClientRect().height : 0);
          if (h + 0.01 < min) {
            const cls = typeof el.className === 'string' && el.className ? '.' + el.className.trim().replace(/\s+/g, '.') : '';
            const name = el.getAttribute('name') ? `[name=${el.getAttribute('name')}]` : '';
            const text = (el.textContent || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 30);
            out.push(`${scope}: ${el.tagName.toLowerCase()}${cls}${name} "${text}" ${h.toFixed(1)} px`);
          }
        }
      }
    }
    return out;
  }, { scopes, min: MIN_TAP });
}

test('phone: no page scrolls sideways', T, async () => {
  const wide = [];
  for (const [name, path, open] of pages()) {
    const page = await show(tab, path, open);
    const m = await page.evaluate(() => {
      const cw = document.documentElement.clientWidth;
      const over = [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > cw + 0.5 && e.checkVisibility())
        .slice(0, 5)
        .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${typeof e.className === 'string' && e.className ? '.' + e.className.trim().replace(/\s+/g, '.') : ''} to ${Math.round(e.getBoundingClientRect().right)} px`);
      return { sw: document.documentElement.scrollWidth, cw, over };
    });
    if (m.sw > m.cw) wide.push(`${name}: ${m.sw} px wide in ${m.cw} (${m.over.join(', ')})`);
  }
  assert.deepEqual(wide, [], 'pages wider than the phone');
  assert.deepEqual(pageErrors, [], 'no JavaScript errors');
});

test('phone: every control of the top bar, the chat header and the composer is at least 44 px tall', T, async () => {
  const small = [];
  for (const [name, path, open] of pages()) {
    const page = await show(tab, path, open);
    if (name === 'chat') {
      // both forms of the composer: "Posting as NAME · change", then (changing) the name field
      await nameSelf(page);
      small.push(...(await smallTargets(page, ['#composer'])).map((x) => `${name} (named): ${x}`));
      await page.click('#composer .posting-as');
      await page.locator('#composer [name=author]').waitFor({ state: 'visible' });
    }
    small.push(...(await smallTargets(page, ['.topbar', '#chat-header', '#composer'])).map((x) => `${name}: ${x}`));
  }
  assert.deepEqual(small, [], `tap targets under ${MIN_TAP} px:\n  ${small.join('\n  ')}`);
});

test('phone: every control of the pages\' forms (new chat, bots, a bot\'s form, chat settings) is at least 44 px tall', T, async () => {
  const scopes = {
    index: ['#new-chat'],
    bots: ['#new-bot', '#bots'],
    'bot-form': ['#bots'],
    settings: ['.chat-tools', '.turn-bar'],
  };
  const small = [];
  for (const [name, path, open] of pages()) {
    if (!scopes[name]) continue;
    const page = await show(tab, path, open);
    small.push(...(await smallTargets(page, scopes[name])).map((x) => `${name}: ${x}`));
  }
  assert.deepEqual(small, [], `tap targets under ${MIN_TAP} px:\n  ${small.join('\n  ')}`);
});

test('phone with the keyboard open (390x500): the composer stays in view, the top bar and the chat\'s tools step aside, and the messages fill the rest', T, async () => {
  const page = await show(tab, `/chats/${chat.id}`, null);
  try {
    await nameSelf(page);
    const layout = () => page.evaluate(() => {
      const box = (sel) => {
        const r = document.querySelector(sel).getBoundingClientRect();
        return { top: r.top, bottom: r.bottom, height: r.height };
      };
      return {
        inner: window.innerHeight,
        scroll: document.documentElement.scrollHeight,
        pageY: window.scrollY,
        header: box('.chat-header'),
        topbar: box('.topbar'),
        messages: box('#messages'),
        turn: box('.turn-bar'),
        composer: box('#composer'),
        body: box('#composer [name=body]'),
        send: box('#composer button[type=submit]'),
      };
    });
    const tall = await layout();
    await page.setViewportSize({ width: 390, height: 500 });
    await page.locator('#composer [name=body]').focus();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const short = await layout();
    const where = JSON.stringify(short);
    assert.equal(short.inner, 500);
    assert.ok(short.scroll <= short.inner + 1 && short.pageY === 0, `the page itself does not scroll: ${where}`);
    for (const part of ['composer', 'body', 'send']) {
      assert.ok(short[part].top >= 0 && short[part].bottom <= short.inner + 0.5, `${part} is inside the 500 px viewport: ${where}`);
    }
    // the top bar, who is here and the chat's tools step aside; the title keeps one line
    assert.equal(short.topbar.height, 0, `the top bar is hidden: ${where}`);
    assert.ok(short.header.height <= 40, `the chat's header is one short line: ${where}`);
    // #messages takes what is left between the header and the turn bar
    assert.ok(Math.abs(short.messages.top - short.header.bottom) <= 1 && Math.abs(short.messages.bottom - short.turn.top) <= 1,
      `#messages fills the space between the chat's header and the turn bar: ${where}`);
    assert.ok(short.messages.height >= 200, `#messages shows the conversation (${short.messages.height} px; ${tall.messages.height} at full height): ${where}`);
    assert.ok(Math.abs(short.body.height - tall.body.height) <= 1 && Math.abs(short.send.height - tall.send.height) <= 1,
      `the message box and Send keep their size: ${where}`);
  } finally {
    await page.setViewportSize(VIEWPORTS.phone);
  }
});

test('phone: Enter in the message box is a new line; the Send button sends', T, async () => {
  const page = await show(tab, `/chats/${chat.id}`, null);
  await streamOpen(page);
  const count = await page.locator(MSG).count();
  const stored = async () => (await api(srv.url, 'GET', `/api/v1/chats/${chat.id}/messages`)).json.messages.length;
  const before = await stored();
  await nameSelf(page);
  const body = page.locator('#composer [name=body]');
  await body.fill('');
  await body.tap();
  await page.keyboard.type('first line');
  await page.keyboard.press('Enter');
  await page.keyboard.type('second line');
  await sleep(500);
  assert.equal(await body.inputValue(), 'first line\nsecond line', 'Enter put a new line in the box');
  assert.equal(await page.locator(MSG).count(), count, 'nothing was sent');
  assert.equal(await stored(), before, 'nothing was stored');

  await page.locator('#composer button[type=submit]').tap();
  await page.locator(MSG).nth(count).waitFor({ state: 'attached', timeout: 5000 });
  const last = page.locator(MSG).nth(count);
  assert.match(await last.locator('.msg-body').innerText(), /first line\s*\n\s*second line/, 'both lines sent');
  assert.equal(await body.inputValue(), '', 'the box is emptied');
  assert.equal(await stored(), before + 1);
});

test('screenshots of the main pages (desktop, phone, touch phone)', T, async () => {
  const written = [];
  const wide = await desktop.newPage();
  wide.on('pageerror', (e) => pageErrors.push(`${wide.url()}: ${e.message}`));
  for (const [name, path, open] of pages()) {
    written.push(...(await screenshots(await show(wide, path, open), name)));
    written.push(...(await screenshots(await show(tab, path, open), name, { viewports: TOUCH })));
  }
  if (process.env.SCREENSHOT_DIR) assert.equal(written.length, 15, `written: ${written.join(', ')}`);
  assert.deepEqual(pageErrors, [], 'no JavaScript errors');
});
