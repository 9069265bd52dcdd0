// Takes docs/playground.png: the playground in Chromium, seed 14 (five nodes, every fault kind) a few seconds in.
// Run after `npm run build`: node playground/screenshot.mjs
import { chromium } from 'playwright-core';
import { buildPlayground, playgroundUrl, servePlayground } from '../dist/cli/playground.js';

const server = await servePlayground(await buildPlayground(), 0);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 980 }, deviceScaleFactor: 1 });
  await page.goto(`${playgroundUrl(server)}?seed=14`);
  const settled = () => page.waitForSelector('[data-testid="state"][data-settled="true"]', { state: 'attached' });
  await settled();
  await page.getByTestId('scrub').evaluate((input) => {
    input.value = '2440';
    input.dispatchEvent(new Event('change'));
  });
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="time"]')?.textContent) >= 2440);
  await settled();
  await page.getByTestId('write-n2').click();
  for (let i = 0; i < 6; i++) {
    await page.getByTestId('step').click();
    await settled();
  }
  await page.keyboard.press('2');
  await page.screenshot({ path: 'docs/playground.png' });
} finally {
  await browser.close();
  server.close();
}
