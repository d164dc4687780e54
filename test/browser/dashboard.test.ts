/**
 * The "Done means" for the dashboard: a local stack (child process, a copy of config/ with
 * a 30 % holdout so both groups exist), a small `cultivate demo` run against it over HTTP, then
 * Debian's Chromium driven by playwright-core opens `/dashboard`, and `/dashboard/owners` by the
 * link on it, and finds every chart drawn with data, on a laptop and on a phone, with no request leaving Cultivate and no console error (a
 * Content-Security-Policy violation is one). `.ci/run` installs chromium; playwright-core never
 * downloads a browser.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from '../helpers/stack.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const CHROMIUM = process.env.CULTIVATE_CHROMIUM ?? '/usr/bin/chromium';
/** Every chart the dashboard draws (functions/http/dashboard.ts); the per-owner one is on /dashboard/owners. */
const CHARTS = ['entered', 'survival', 'holdout', 'funnel', 'touches', 'audience', 'requalification'];
const OWNER_CHARTS = ['owners'];

let stack: StackProcess;
let browser: Browser;
let configDir: string;
let demoOutput = '';

function runDemo(url: string): Promise<string> {
  return new Promise((res, rej) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    delete env.VITEST;
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/cultivate.ts', 'demo', '--url', url, '--people', '24', '--weeks', '30', '--seed', '7', '--config', configDir], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? res(out) : rej(new Error(`cultivate demo exited with ${code}:\n${out.slice(-3000)}`))));
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the dashboard's browser test needs Debian's chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does it), or set CULTIVATE_CHROMIUM`);
  }
  configDir = mkdtempSync(join(tmpdir(), 'cultivate-browser-config-'));
  cpSync(join(REPO_ROOT, 'config'), configDir, { recursive: true });
  const metricsYaml = join(configDir, 'metrics.yaml');
  const withHoldout = readFileSync(metricsYaml, 'utf8').replace(/^(\s+percent:)\s*0\s*$/m, '$1 30');
  expect(withHoldout).toMatch(/percent: 30/);
  writeFileSync(metricsYaml, withHoldout);

  stack = await startStackProcess({ clockStart: '2025-11-03T08:00:00.000Z', env: { CULTIVATE_CONFIG_DIR: configDir, CULTIVATE_LOG_LEVEL: 'WARN' } });
  demoOutput = await runDemo(stack.url);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root in CI there is no sandbox to drop into; the closed network refuses Google's hosts.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

/** Every chart on the page is there once, says it has data, and shows visible marks. */
async function expectDrawn(page: import('playwright-core').Page, charts: readonly string[]) {
  for (const id of charts) {
    const figure = page.locator(`figure[data-chart="${id}"]`);
    await expect.poll(() => figure.count(), { message: `chart ${id} is on the page` }).toBe(1);
    const points = Number(await figure.getAttribute('data-points'));
    expect(points, `chart ${id} has data`).toBeGreaterThan(0);
    expect(await figure.locator('.empty').count(), `chart ${id} shows no empty state`).toBe(0);
    const svg = figure.locator('svg').first();
    const box = await svg.boundingBox();
    expect(box?.width ?? 0, `chart ${id} is laid out`).toBeGreaterThan(200);
    // Drawn, not just present: at least one data mark with a visible size.
    const drawn = await figure.locator('svg .mark, svg .line, svg .dot').evaluateAll((els) =>
      els.filter((el) => {
        const r = (el as unknown as { getBoundingClientRect(): { width: number; height: number } }).getBoundingClientRect();
        return r.width > 0 || r.height > 0;
      }).length,
    );
    expect(drawn, `chart ${id} has visible marks`).toBeGreaterThan(0);
  }
}

async function openDashboard(viewport: { width: number; height: number }) {
  const page = await browser.newPage({ viewport });
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  const response = await page.goto(`${stack.url}/dashboard`, { waitUntil: 'load' });
  return { page, response, requests, problems };
}

describe('GET /dashboard in a browser, after a small cultivate demo', () => {
  it('the demo ran a simulated stretch against the stack', () => {
    expect(demoOutput).toMatch(/^Simulated 30 weeks /m);
    expect(demoOutput).toMatch(/^\s+people\s+24 in \d+ accounts; holdout [1-9]\d* accounts, [1-9]\d* people/m);
    expect(demoOutput).toMatch(/^Dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard$/m);
  });

  it('draws every chart with data on a laptop, from Cultivate alone', async () => {
    const { page, response, requests, problems } = await openDashboard({ width: 1280, height: 900 });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/default-src 'none'/);

    await expectDrawn(page, CHARTS);
    expect(await page.locator('figure[data-chart="owners"]').count(), 'the per-owner chart is on its own page').toBe(0);
    await page.screenshot({ path: join(tmpdir(), 'cultivate-dashboard-laptop.png'), fullPage: true });

    // The per-owner page, by the dashboard's own link (relative, the same range).
    const owners = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/dashboard/owners'), page.getByRole('link', { name: 'Human tasks per owner →' }).click()]);
    expect(owners[0].status()).toBe(200);
    expect(owners[0].headers()['content-security-policy']).toMatch(/default-src 'none'/);
    await page.waitForLoadState('load');
    expect(await page.locator('h1').textContent()).toBe('Human tasks per owner');
    await expectDrawn(page, OWNER_CHARTS);
    await page.screenshot({ path: join(tmpdir(), 'cultivate-dashboard-owners-laptop.png'), fullPage: true });
    // And back: the page's own link climbs to /dashboard.
    await Promise.all([page.waitForURL((u) => u.pathname === '/dashboard'), page.getByRole('link', { name: '← Dashboard' }).click()]);
    await expectDrawn(page, CHARTS);

    const origin = new URL(stack.url).origin;
    expect(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'))).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fits a phone: no sideways scrolling, every chart as wide as the screen allows', async () => {
    const { page, problems } = await openDashboard({ width: 375, height: 812 });
    // Runs in the page (no DOM types in this project's compiler settings).
    const overflow = await page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    for (const id of CHARTS) {
      const box = await page.locator(`figure[data-chart="${id}"] svg`).first().boundingBox();
      expect(box?.width ?? 0, `chart ${id} on a phone`).toBeGreaterThan(250);
      expect(box?.width ?? 0).toBeLessThanOrEqual(375);
    }
    await page.screenshot({ path: join(tmpdir(), 'cultivate-dashboard-phone.png'), fullPage: true });
    await page.goto(`${stack.url}/dashboard/owners`, { waitUntil: 'load' });
    expect(await page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    })).toBeLessThanOrEqual(0);
    for (const id of OWNER_CHARTS) {
      const box = await page.locator(`figure[data-chart="${id}"] svg`).first().boundingBox();
      expect(box?.width ?? 0, `chart ${id} on a phone`).toBeGreaterThan(250);
      expect(box?.width ?? 0).toBeLessThanOrEqual(375);
    }
    expect(problems).toEqual([]);
    await page.close();
  });
});
