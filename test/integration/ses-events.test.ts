/**
 * SES event publishing -> EventBridge -> handleSesEvent (functions/handlers/ses-events.ts,
 * functions/domain/feedback.ts) against DynamoDB Local. The event details follow the SES event
 * publishing record format (Developer Guide, "Contents of event data that Amazon SES publishes"):
 * eventType, mail (with tags as arrays of strings, SES's own `ses:*` tags included) and the
 * type-specific object.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoRelationshipStore } from '#adapters/dynamo-store';
import { DynamoTouchStore } from '#adapters/dynamo-touches';
import { keys } from '#adapters/table';
import { loadPipelineConfig } from '#config/pipeline';
import { touchIdFor } from '#domain/identity';
import type { RelationshipState } from '#domain/types';
import { type SesEventDeps, handleSesEvent } from '#handlers/ses-events';
import { createKeyedHasher } from '#shared/hmac';
import { scanAll, withDynamoDbLocal } from '../helpers/dynamo.ts';
import { fixedClock, RecordingPublisher, recordingLogger } from '../helpers/fixtures.ts';

const db = withDynamoDbLocal('ses-events');
const config = loadPipelineConfig('config', 'https://api.cultivate.example');
const hasher = createKeyedHasher('ses-events-hash-key');
const NOW = new Date('2026-12-08T18:00:00.000Z');
const SENT_AT = '2026-12-08T16:00:02.118Z';
const LOST_AT = '2026-11-20T15:00:00.000Z';

function setup() {
  const store = new DynamoRelationshipStore(db.doc, db.table);
  const touches = new DynamoTouchStore(db.doc, db.table);
  const logger = recordingLogger();
  const publisher = new RecordingPublisher();
  const deps: SesEventDeps = { clock: fixedClock(NOW), store, touches, planner: config.planner, logger, publisher };
  return { store, touches, logger, deps, publisher, handle: (detail: unknown) => handleSesEvent(deps, detail) };
}

/** A person in nurture after their first value e-mail, the next one planned. */
async function seedPerson(store: DynamoRelationshipStore, name: string): Promise<RelationshipState> {
  const id = `rel_${randomUUID()}`;
  const email = `${name}.${id.slice(4, 12)}@customer.example`;
  const state: RelationshipState = {
    id,
    version: 0,
    createdAt: LOST_AT,
    updatedAt: SENT_AT,
    stage: 'nurturing',
    stageChangedAt: LOST_AT,
    nurture: { lostReason: 'timing', lostAt: LOST_AT },
    accountId: 'acme.example',
    owner: 'sam@seller.example',
    contact: { email, name: 'Dana Fixture-Reyes', timezone: 'America/Chicago' },
    fieldTimes: {},
    crmIds: [`generic:default:${id.slice(4, 12)}`],
    emailHash: hasher.emailHash(email),
    consent: { email: 'granted', basis: 'opt-in', at: '2026-03-02T10:00:00.000Z' },
    suppressions: [],
    applied: [],
    planVersion: 4,
    nextTouch: {
      touchId: touchIdFor(id, 4),
      at: '2026-12-15T16:07:00.000Z',
      channel: 'email',
      kind: 'value-email',
      contentId: 'exit-criteria-template',
      topic: 'pipeline-hygiene',
      step: 2,
      status: 'planned',
      rule: 'lost-deal: weekly value e-mail 2 of 8',
    },
    history: { emailsSent: 1, tasksAssigned: 1, sentContent: ['stale-deal-audit'], cadenceStep: 2, lastEmailAt: SENT_AT, lastTouchAt: SENT_AT },
  };
  expect(await store.save(state, undefined)).toBe('saved');
  return (await store.get(id)) as RelationshipState;
}

/** The `mail` object of an SES event record, for the value e-mail the person got. */
function mailOf(state: RelationshipState, messageId: string) {
  const to = state.contact.email as string;
  return {
    timestamp: SENT_AT,
    source: '"Sam Patel" <sam@mail.seller.example>',
    sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/mail.seller.example',
    sendingAccountId: '123456789012',
    messageId,
    destination: [to],
    headersTruncated: false,
    headers: [
      { name: 'From', value: '"Sam Patel" <sam@mail.seller.example>' },
      { name: 'To', value: to },
      { name: 'Subject', value: 'The 20-minute stale deal audit' },
      { name: 'List-Unsubscribe', value: '<https://api.cultivate.example/unsubscribe/abc.def>' },
      { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ],
    commonHeaders: { from: ['"Sam Patel" <sam@mail.seller.example>'], to: [to], messageId, subject: 'The 20-minute stale deal audit' },
    tags: {
      'ses:operation': ['SendEmail'],
      'ses:configuration-set': ['cultivate-events'],
      'ses:source-ip': ['203.0.113.10'],
      'ses:from-domain': ['mail.seller.example'],
      'ses:caller-identity': ['cultivate-sender'],
      relationship: [state.id],
      touch: [touchIdFor(state.id, 3).replace('.', '-')],
      topic: ['pipeline-hygiene'],
      content: ['stale-deal-audit'],
    },
  };
}

const msgId = () => `0100018c${randomUUID().replace(/-/g, '')}-000000`;

function bounce(state: RelationshipState, messageId: string, bounceType: 'Permanent' | 'Transient', bounceSubType = bounceType === 'Permanent' ? 'General' : 'MailboxFull') {
  return {
    eventType: 'Bounce',
    bounce: {
      feedbackId: `0100018c-feedback-${randomUUID()}`,
      bounceType,
      bounceSubType,
      bouncedRecipients: [
        { emailAddress: state.contact.email, action: 'failed', status: bounceType === 'Permanent' ? '5.1.1' : '4.2.2', diagnosticCode: 'smtp; 550 5.1.1 user unknown' },
      ],
      timestamp: '2026-12-08T16:00:03.512Z',
      reportingMTA: 'dns; b224-13.smtp-out.amazonses.com',
    },
    mail: mailOf(state, messageId),
  };
}

function complaint(state: RelationshipState, messageId: string) {
  return {
    eventType: 'Complaint',
    complaint: {
      feedbackId: `0100018c-feedback-${randomUUID()}`,
      complaintSubType: null,
      complainedRecipients: [{ emailAddress: state.contact.email }],
      timestamp: '2026-12-08T17:12:00.000Z',
      userAgent: 'Yahoo!-Mail-Feedback/2.0',
      complaintFeedbackType: 'abuse',
      arrivalDate: '2026-12-08T17:11:58.000Z',
    },
    mail: mailOf(state, messageId),
  };
}

function delivery(state: RelationshipState, messageId: string) {
  return {
    eventType: 'Delivery',
    mail: mailOf(state, messageId),
    delivery: {
      timestamp: '2026-12-08T16:00:04.000Z',
      processingTimeMillis: 1882,
      recipients: [state.contact.email],
      smtpResponse: '250 2.6.0 Message received',
      reportingMTA: 'a8-70.smtp-out.amazonses.com',
    },
  };
}

function click(state: RelationshipState, messageId: string, clickedAt: string, userAgent: string) {
  return {
    eventType: 'Click',
    click: {
      ipAddress: '198.51.100.23',
      link: 'https://resources.seller.example/guides/stale-deal-audit',
      linkTags: { samplekey0: ['samplevalue0'] },
      timestamp: clickedAt,
      userAgent,
    },
    mail: mailOf(state, messageId),
  };
}

/** The EventBridge envelope SES uses (the handler gets its `detail`). */
const envelope = (detail: { eventType: string }) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': `Email ${detail.eventType === 'Bounce' ? 'Bounced' : detail.eventType === 'Complaint' ? 'Complaint Received' : detail.eventType === 'Click' ? 'Clicked' : 'Delivered'}`,
  source: 'aws.ses',
  account: '123456789012',
  time: NOW.toISOString(),
  region: 'us-east-1',
  resources: ['arn:aws:ses:us-east-1:123456789012:configuration-set/cultivate-events'],
  detail,
});

async function supItem(hash: string) {
  const out = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.suppression(hash), ConsistentRead: true }));
  return out.Item;
}

const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15';

describe('handleSesEvent', () => {
  it('a permanent bounce: hard-bounce suppression on the state and by keyed hash, plan version bumped, no e-mail planned next', async () => {
    const { handle, store, touches, publisher } = setup();
    const before = await seedPerson(store, 'bounce');
    const m = msgId();
    expect(await handle(envelope(bounce(before, m, 'Permanent')).detail)).toBe('applied');

    const after = (await touches.get(before.id)) as RelationshipState;
    expect(after.suppressions).toEqual([expect.objectContaining({ scope: 'hard-bounce' })]);
    expect(after.planVersion).toBe(before.planVersion + 1);
    expect(after.nextTouch === null || after.nextTouch.channel !== 'email').toBe(true);
    expect(after.version).toBe(before.version + 1);

    const sup = await supItem(before.emailHash as string);
    expect(sup?.scopes).toEqual([expect.objectContaining({ scope: 'hard-bounce' })]);
    // the key is the keyed hash, never the address
    expect(JSON.stringify(sup)).not.toContain(before.contact.email as string);
    expect((await store.getSuppression([before.emailHash as string]))?.scopes.map((s) => s.scope)).toEqual(['hard-bounce']);

    const tl = await store.timeline(before.id);
    expect(tl.map((e) => e.type)).toEqual(['email-hard-bounce']);
    // the due index no longer holds a planned e-mail for this person
    const dueItems = (await scanAll(db.doc, db.table)).filter((i) => i.pk === `REL#${before.id}` && i.sk === 'STATE' && i.duePk !== undefined);
    expect(dueItems.every((i) => ((i.s as RelationshipState).nextTouch?.channel ?? 'none') !== 'email')).toBe(true);
    // The CRM hears it as an e-mail opt-out, once per cause (ids only on the bus).
    expect(publisher.ofType('consent-changed')).toEqual([
      expect.objectContaining({
        source: 'cultivate.relationships',
        detail: expect.objectContaining({ relationshipId: before.id, crmIds: before.crmIds, causeId: `ses:hard-bounce:${m}`, action: 'stop-all-email', email: 'denied' }),
      }),
    ]);
    expect(JSON.stringify(publisher.published)).not.toContain(before.contact.email as string);
  });

  it('the same bounce delivered twice: the second is a duplicate and changes nothing', async () => {
    const { handle, store, touches } = setup();
    const before = await seedPerson(store, 'bounce2');
    const detail = bounce(before, msgId(), 'Permanent');
    expect(await handle(detail)).toBe('applied');
    const once = await touches.get(before.id);
    const supOnce = await supItem(before.emailHash as string);
    expect(await handle(structuredClone(detail))).toBe('duplicate');
    expect(await touches.get(before.id)).toEqual(once);
    expect(await supItem(before.emailHash as string)).toEqual(supOnce);
    expect(await store.timeline(before.id)).toHaveLength(1);
  });

  it('the same bounce delivered twice at once: applied once', async () => {
    const { handle, store, touches } = setup();
    const before = await seedPerson(store, 'bounce3');
    const detail = bounce(before, msgId(), 'Permanent');
    const outcomes = await Promise.all([handle(detail), handle(structuredClone(detail)), handle(structuredClone(detail))]);
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(2);
    const after = (await touches.get(before.id)) as RelationshipState;
    expect(after.planVersion).toBe(before.planVersion + 1);
    expect(after.suppressions).toHaveLength(1);
    expect((await supItem(before.emailHash as string))?.scopes).toHaveLength(1);
  });

  it('a complaint: complaint suppression on the state and by keyed hash, e-mail stops', async () => {
    const { handle, store, touches } = setup();
    const before = await seedPerson(store, 'complaint');
    expect(await handle(complaint(before, msgId()))).toBe('applied');
    const after = (await touches.get(before.id)) as RelationshipState;
    expect(after.suppressions.map((s) => s.scope)).toEqual(['complaint']);
    expect(after.planVersion).toBe(before.planVersion + 1);
    expect(after.nextTouch === null || after.nextTouch.channel !== 'email').toBe(true);
    expect((await supItem(before.emailHash as string))?.scopes).toEqual([expect.objectContaining({ scope: 'complaint', at: '2026-12-08T17:12:00.000Z' })]);
  });

  it('a bounce then a complaint: both suppressions kept by keyed hash', async () => {
    const { handle, store } = setup();
    const before = await seedPerson(store, 'both');
    await handle(bounce(before, msgId(), 'Permanent'));
    await handle(complaint(before, msgId()));
    expect((await supItem(before.emailHash as string))?.scopes.map((s: { scope: string }) => s.scope).sort()).toEqual(['complaint', 'hard-bounce']);
  });

  it('a transient bounce and a delivery write nothing', async () => {
    const { handle, store, logger } = setup();
    const before = await seedPerson(store, 'transient');
    const snapshot = await scanAll(db.doc, db.table);
    expect(await handle(bounce(before, msgId(), 'Transient'))).toBe('ignored');
    expect(await handle(bounce(before, msgId(), 'Undetermined' as 'Transient', 'Undetermined'))).toBe('ignored');
    expect(await handle(delivery(before, msgId()))).toBe('ignored');
    expect(await scanAll(db.doc, db.table)).toEqual(snapshot);
    expect(logger.lines.filter((l) => l.message === 'SES event counted').map((l) => l.extra[0]?.metric)).toEqual(['SesBounce', 'SesBounce', 'SesDelivery']);
  });

  it('a click within 60 s of the send is flagged as a likely scanner; a later browser click is engagement', async () => {
    const { handle, store } = setup();
    const before = await seedPerson(store, 'click');
    const early = new Date(Date.parse(SENT_AT) + 20_000).toISOString();
    const later = new Date(Date.parse(SENT_AT) + 42 * 60_000).toISOString();
    const m = msgId();
    expect(await handle(click(before, m, early, BROWSER))).toBe('applied');
    // the person's own later click is not hidden by the scanner's early one
    expect(await handle(click(before, m, later, BROWSER))).toBe('applied');
    // but the same person clicking the same link again is a duplicate
    expect(await handle(click(before, m, new Date(Date.parse(later) + 60_000).toISOString(), BROWSER))).toBe('duplicate');
    expect(await handle(click(before, msgId(), later, BROWSER))).toBe('applied');
    const tl = await store.timeline(before.id);
    const clicks = tl.filter((e) => e.type === 'email-clicked');
    expect(clicks).toHaveLength(3);
    expect(clicks.find((e) => e.at === early)?.detail).toMatchObject({ likelyScanner: true, link: 'https://resources.seller.example/guides/stale-deal-audit' });
    expect(clicks.find((e) => e.at === later)?.detail).toMatchObject({ likelyScanner: false });
    // clicks change no plan and add no suppression
    const after = (await store.get(before.id)) as RelationshipState;
    expect(after.planVersion).toBe(before.planVersion);
    expect(after.nextTouch).toEqual(before.nextTouch);
    expect(after.suppressions).toEqual([]);
    expect(await supItem(before.emailHash as string)).toBeUndefined();
  });

  it('a click at 59 s is a scanner, at 61 s with a browser it is not; a scanner user agent always is', async () => {
    const { handle, store } = setup();
    const before = await seedPerson(store, 'edges');
    const at = (s: number) => new Date(Date.parse(SENT_AT) + s * 1000).toISOString();
    await handle(click(before, 'm-59', at(59), BROWSER));
    await handle(click(before, 'm-61', at(61), BROWSER));
    await handle(click(before, 'm-ua', at(3600), 'Mozilla/5.0 (compatible; Barracuda Sentinel)'));
    const byAt = new Map((await store.timeline(before.id)).map((e) => [e.at, e.detail?.likelyScanner]));
    expect(byAt.get(at(59))).toBe(true);
    expect(byAt.get(at(61))).toBe(false);
    expect(byAt.get(at(3600))).toBe(true);
  });

  it('events for a relationship we do not know, or without our tags, change nothing', async () => {
    const { handle, store } = setup();
    const before = await seedPerson(store, 'unknown');
    const snapshot = await scanAll(db.doc, db.table);
    const gone = bounce({ ...before, id: `rel_${randomUUID()}` }, msgId(), 'Permanent');
    expect(await handle(gone)).toBe('unknown-relationship');
    const untagged = bounce(before, msgId(), 'Permanent');
    untagged.mail.tags = { 'ses:operation': ['SendEmail'] } as typeof untagged.mail.tags;
    expect(await handle(untagged)).toBe('unknown-relationship');
    expect(await scanAll(db.doc, db.table)).toEqual(snapshot);
  });

  it('a detail that is not an SES event is refused', async () => {
    const { handle } = setup();
    await expect(handle({ eventType: 'Bounce' })).rejects.toThrow();
    await expect(handle(null)).rejects.toThrow();
  });
});
