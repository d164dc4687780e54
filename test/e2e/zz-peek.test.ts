import { it } from 'vitest';
import { startStackProcess } from '../helpers/stack.ts';
it('peek', async () => {
  const s = await startStackProcess({ clockStart: '2026-11-16T12:00:00.000Z' });
  const f = (k: string, tz: string, consent: boolean) => ({ id: 'x-'+k, type: 'lead-closed-lost', occurredAt: '2026-11-16T10:00:00Z', contact: { externalId: k, email: `${k}@ex.com`, name: 'N '+k, timezone: tz, owner: 'riley@seller.example', ...(consent && { consent: { email: 'granted', basis: 'opt-in' } }) }, data: { reason: 'timing' } });
  await s.webhook([f('syd', 'Australia/Sydney', true), f('nc', 'America/Chicago', false)]);
  await s.post('/local/drain');
  const r = await s.post('/local/clock', { advanceBy: 'P21D' });
  console.log(JSON.stringify(r.body.fired, null, 0));
  const ob = (await s.get('/local/outbox')).body;
  console.log(JSON.stringify(ob[0], null, 1));
  for (const m of ob) console.log(m.sentAt, m.subject, m.destination.to, new Date(m.sentAt).toLocaleString('en-US', { timeZone: 'Australia/Sydney', weekday: 'short' }));
  console.log(JSON.stringify((await s.get('/local/outbound')).body, null, 1).slice(0, 3000));
  await s.stop();
}, 120000);
