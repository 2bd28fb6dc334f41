// Drives headless Chromium (Debian's /usr/bin/chromium) for tests/test_viewer.py.
//
// One JSON command per line on stdin, one JSON answer per line on stdout:
//   {"op": "open", "url": ...}             open a new page (the previous one stays)
//   {"op": "wait", "expr": ..., "timeout_s": 20}  until the expression is truthy; its value
//   {"op": "eval", "expr": ...}            the expression's value
//   {"op": "type", "text": ...}            type into the page's text box and press Enter
//   {"op": "click", "selector": ...}
//   {"op": "screenshot", "path": ...}
//   {"op": "close_page"}                   close the newest page (a browser tab going away)
//   {"op": "quit"}
// playwright-core comes from the viewer's own node_modules (npm ci); it never downloads a
// browser: executablePath points at the system Chromium.
import { createRequire } from 'node:module';
import readline from 'node:readline';

const require = createRequire(new URL('../merg_sdk/viewer/web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const browser = await chromium.launch({
  executablePath: process.env.MERG_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    '--autoplay-policy=no-user-gesture-required', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
const context = await browser.newContext({ viewport: { width: 1100, height: 640 } });
const pages = [];
const logs = [];
const page = () => pages[pages.length - 1];

async function run(command) {
  switch (command.op) {
    case 'open': {
      const p = await context.newPage();
      p.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
      p.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      p.on('requestfailed', (r) => logs.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
      p.on('request', (r) => logs.push(`${Date.now() % 100000} request: ${r.url()}`));
      p.on('requestfinished', (r) => logs.push(`${Date.now() % 100000} finished: ${r.url()}`));
      pages.push(p);
      await p.goto(command.url, { timeout: 60000 });
      return null;
    }
    case 'wait': {
      const handle = await page().waitForFunction(command.expr, null, {
        timeout: (command.timeout_s ?? 20) * 1000, polling: 50,
      });
      return await handle.jsonValue();
    }
    case 'eval': return await page().evaluate(command.expr);
    case 'type': {
      await page().fill('#text', command.text);
      await page().press('#text', 'Enter');
      return null;
    }
    case 'click': await page().click(command.selector); return null;
    case 'screenshot': await page().screenshot({ path: command.path }); return command.path;
    case 'close_page': await pages.pop().close(); return null;
    default: throw new Error(`unknown op ${command.op}`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line);
  if (command.op === 'quit') break;
  try {
    const value = await run(command);
    process.stdout.write(`${JSON.stringify({ ok: true, value })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(error), logs: logs.slice(-60) })}\n`);
  }
}
lines.close();
await Promise.race([browser.close(), new Promise((done) => setTimeout(done, 5000))]);
process.exit(0);
