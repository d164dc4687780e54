/**
 * `GET /config/pauses`, `DELETE /config/pauses/{kind}/{id}` (functions/http/config.ts) served over
 * DynamoDB Local, and `cultivate config pauses` / `config resume` against them: what paused itself,
 * when and why, and a resume that keeps the counters of that moment as the baseline.
 */
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAutoPause } from '#adapters/dynamo-auto-pause';
import { DynamoMetricsStore } from '#adapters/dynamo-metrics';
import { type AutoPause, rateDelta } from '#domain/auto-pause';
import { configPauseRoutes } from '#http/config';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { recordingLogger } from '../helpers/fixtures.ts';
import { cli } from './helpers.ts';

const db = withDynamoDbLocal('cultivate-pauses-cli');
const NOW = new Date('2026-12-08T16:00:00.000Z');
let server: ServerType;
let url = '';
const resumed: string[] = [];

beforeAll(async () => {
  const store = new DynamoAutoPause(db.doc, db.table);
  const app = configPauseRoutes({ clock: { now: () => NOW }, logger: recordingLogger(), store, trackIds: () => ['lost-deal', 'customer-care'], resumed: (kind, id) => void resumed.push(`${kind}:${id}`) });
  server = await new Promise<ServerType>((res) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => res(s));
  });
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // 240 e-mails of the item on two tracks, 5 unsubscribes; it paused itself.
  const units = [
    ...Array.from({ length: 200 }, () => rateDelta('lost-deal', 'stale-deal-audit', 'sent')),
    ...Array.from({ length: 40 }, () => rateDelta('customer-care', 'stale-deal-audit', 'sent')),
    ...Array.from({ length: 5 }, () => rateDelta('lost-deal', 'stale-deal-audit', 'unsubscribed')),
  ].map((d, i) => ({ sequenceNumber: String(1000 + i), deltas: [d], guards: [] }));
  await new DynamoMetricsStore(db.doc, db.table).apply('shard-cli', units, NOW);
  const pause: AutoPause = {
    kind: 'content',
    id: 'stale-deal-audit',
    pausedAt: '2026-12-08T15:02:00.000Z',
    reason: 'Content stale-deal-audit paused itself: 2.1% unsubscribed (5 of 240 e-mails; threshold 1%)',
    counts: { sent: 240, unsubscribed: 5, complained: 0 },
    crossed: ['unsubscribed'],
  };
  expect(await store.pause(pause)).toBe(true);
}, 60_000);

afterAll(async () => {
  await new Promise<void>((res) => (server ? server.close(() => res()) : res()));
});

describe('cultivate config pauses / resume', () => {
  it('lists what paused itself, when and why, and how to resume it', async () => {
    const r = await cli(['config', 'pauses', '--url', url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'PAUSED content stale-deal-audit since 2026-12-08 15:02 UTC',
        '  Content stale-deal-audit paused itself: 2.1% unsubscribed (5 of 240 e-mails; threshold 1%)',
        '  resume: cultivate config resume content stale-deal-audit',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await cli(['config', 'pauses', '--url', url, '--json'])).stdout);
    expect(json.pauses).toHaveLength(1);
    expect(json.pauses[0]).toMatchObject({ kind: 'content', id: 'stale-deal-audit', counts: { sent: 240, unsubscribed: 5 } });
  });

  it('refuses what is not a content item or a track (CLI: exit 2; route: 400)', async () => {
    const r = await cli(['config', 'resume', 'topic', 'pricing', '--url', url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('say what to resume: content or track, got topic');
    const res = await fetch(`${url}/config/pauses/topic/Pricing!`, { method: 'DELETE' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['kind', 'id']);
  });

  it('resumes with the counters of that moment (over every track) as the baseline; a second resume is a 404', async () => {
    const r = await cli(['config', 'resume', 'content', 'stale-deal-audit', '--url', url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('resumed content stale-deal-audit (paused since 2026-12-08 15:02 UTC): its rate counts from 2026-12-08 16:00 UTC on');
    expect(r.stdout).toContain('so far: 240 e-mails, 5 unsubscribed, 0 complained (the baseline)');
    expect(resumed).toEqual(['content:stale-deal-audit']);

    const listed = await cli(['config', 'pauses', '--url', url]);
    expect(listed.stdout).toBe(
      ['nothing paused itself', '', 'resumed earlier (their rates count from then):', '  content stale-deal-audit on 2026-12-08 16:00 UTC, after 240 e-mails, 5 unsubscribed, 0 complained', ''].join('\n'),
    );

    const again = await cli(['config', 'resume', 'content', 'stale-deal-audit', '--url', url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('404 content stale-deal-audit is not paused');
  });

  it('says so when the stack cannot be reached', async () => {
    const r = await cli(['config', 'pauses', '--url', 'http://127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});
