// Screenshots a Chrome trace in speedscope with headless Chromium. Run by
// make.sh, which says where each argument comes from:
//
//   node speedscope-shot.mjs SPEEDSCOPE_DIR TRACE.json OUT_PREFIX THREAD...
//
// SPEEDSCOPE_DIR is the `dist/release` folder of the npm package
// `speedscope`. It and the trace are served on 127.0.0.1 (a free port) for
// as long as the script runs. Writes OUT_PREFIX-threads.png (speedscope's
// list of the trace's threads, with the time each spent in spans) and, for
// each THREAD named, OUT_PREFIX-THREAD.png: that thread's spans in time
// order, with the pointer over the middle of the run.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import puppeteer from 'puppeteer-core';

const [dir, trace, prefix, ...threads] = process.argv.slice(2);
if (!dir || !trace || !prefix || threads.length === 0) {
  console.error('usage: node speedscope-shot.mjs SPEEDSCOPE_DIR TRACE.json OUT_PREFIX THREAD...');
  process.exit(2);
}

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
  '.woff2': 'font/woff2' };
const server = createServer(async (req, res) => {
  const name = decodeURIComponent(new URL(req.url, 'http://x').pathname).slice(1) || 'index.html';
  const file = name === 'trace.json' ? trace : join(dir, basename(name));
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}`;
const pause = (ms) => new Promise((ok) => setTimeout(ok, ms));
// speedscope's toolbar reads "<thread> (pid 1, tid 3) (k/N)".
const toolbar = (page) => page.evaluate(() => document.body.innerText.split('\n')[1] ?? '');

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--hide-scrollbars'],
});
try {
  const page = await browser.newPage();
  // 820 CSS pixels, the narrowest at which speedscope's toolbar still
  // shows the thread's name whole, at twice the density, so the picture
  // stays sharp when the book scales it to its text column.
  await page.setViewport({ width: 820, height: 230, deviceScaleFactor: 2 });
  await page.goto(`${base}/index.html#profileURL=${base}/trace.json`);
  await page.waitForFunction(() => /\(\d+\/\d+\)/.test(document.body.innerText), { timeout: 20000 });
  await pause(500);

  const count = Number((await toolbar(page)).match(/\(\d+\/(\d+)\)$/)[1]);
  for (const thread of threads) {
    // `p` steps back to the first thread, `n` on to the one named.
    for (let i = 0; i < count; i++) await page.keyboard.press('p');
    await pause(300);
    let steps = 0;
    while (!(await toolbar(page)).startsWith(`${thread} (`)) {
      if (++steps > count) throw new Error(`the trace has no thread called ${thread}`);
      await page.keyboard.press('n');
      await pause(300);
    }
    await page.mouse.move(410, 150);
    await pause(400);
    await page.screenshot({ path: `${prefix}-${thread}.png` });
    console.log(`${prefix}-${thread}.png: ${await toolbar(page)}`);
  }

  // Last, the thread list, which opens from the toolbar's title.
  await page.mouse.move(0, 229);
  await page.mouse.click(410, 10);
  await pause(500);
  await page.screenshot({ path: `${prefix}-threads.png` });
} finally {
  await browser.close();
  server.close();
}
