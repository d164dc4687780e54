/**
 * The event catalog: every event Cultivate accepts or emits, defined once as zod schemas.
 * Webhook validation, handler input, the bus envelope and the JSON Schema export for
 * integrators (`npm run catalog`) all come from here.
 */
import { z } from 'zod';

const isoInstant = z.iso
  .datetime({ offset: true })
  .describe('ISO 8601 instant with a time zone designator, e.g. 2026-11-20T15:04:05Z');

const isoDateOrInstant = z.union([z.iso.date(), isoInstant]).describe('ISO 8601 date or instant');

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export const timeZone = z
  .string()
  .max(64)
  .refine(isTimeZone, { message: 'must be an IANA time zone such as America/Chicago' });

export const countryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code such as US');

export const emailAddress = z.email().max(254);

export const lostReasons = [
  'timing',
  'budget',
  'no-decision',
  'competitor',
  'no-need',
  'unresponsive',
  'bad-fit',
  'other',
] as const;
export const LostReason = z.enum(lostReasons);
export type LostReason = z.infer<typeof LostReason>;

export const contactRoles = [
  'prospect',
  'customer',
  'past-customer',
  'champion',
  'evaluator',
  'influencer',
  'referral-partner',
  'advocate',
] as const;
export const ContactRole = z.enum(contactRoles);
export type ContactRole = z.infer<typeof ContactRole>;

export const Horizon = z.enum(['reason', 'season', 'lifetime']);
export type Horizon = z.infer<typeof Horizon>;

export const ConsentRecord = z
  .object({
    email: z.enum(['granted', 'denied', 'unknown']),
    basis: z.string().min(1).max(64).optional().describe('e.g. opt-in, legitimate-interest, existing-customer'),
    source: z.string().min(1).max(128).optional().describe('where it was captured, e.g. webinar-form'),
    capturedAt: isoInstant.optional(),
    evidence: z.string().max(1000).optional().describe('proof: form id, IP and time, message id'),
    jurisdiction: countryCode.optional(),
  })
  .strict();
export type ConsentRecord = z.infer<typeof ConsentRecord>;

export const PostalAddress = z
  .object({
    lines: z.array(z.string().min(1).max(200)).min(1).max(4),
    city: z.string().min(1).max(100),
    region: z.string().max(100).optional(),
    postalCode: z.string().max(20).optional(),
    country: countryCode,
  })
  .strict();

export const Contact = z
  .object({
    externalId: z.string().min(1).max(128).optional().describe("the CRM's id for this person"),
    email: emailAddress.optional(),
    name: z.string().min(1).max(200).optional(),
    title: z.string().max(200).optional(),
    accountId: z.string().min(1).max(200).optional().describe('the account (company) this person belongs to'),
    company: z.string().min(1).max(200).optional(),
    timezone: timeZone.optional(),
    country: countryCode.optional(),
    language: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 tag such as en or pt-BR').optional(),
    role: ContactRole.optional(),
    horizon: Horizon.optional(),
    owner: emailAddress.optional().describe("the owning rep's e-mail address"),
    consent: ConsentRecord.optional(),
    postalAddress: PostalAddress.optional(),
    tags: z.array(z.string().min(1).max(64)).max(20).optional().describe('segment tags'),
    interests: z.array(z.string().min(1).max(64)).max(20).optional().describe('content topics the contact cares about'),
  })
  .strict()
  .refine((c) => c.email !== undefined || c.externalId !== undefined, {
    message: 'a contact needs an email or an externalId',
    path: ['email'],
  });
export type Contact = z.infer<typeof Contact>;

export const Account = z
  .object({
    accountId: z.string().min(1).max(200),
    company: z.string().min(1).max(200).optional(),
    domain: z.string().max(253).optional(),
    country: countryCode.optional(),
  })
  .strict();
export type Account = z.infer<typeof Account>;

const money = z.number().nonnegative().finite();

export const touchOutcomes = [
  'done',
  'no-answer',
  'left-message',
  'declined',
  'rescheduled',
  'skipped',
  'no-future',
  'future-opportunity',
  'next-step',
] as const;
export const TouchOutcome = z.enum(touchOutcomes);
export type TouchOutcome = z.infer<typeof TouchOutcome>;

/** The four ways to leave (DESIGN.md §1), plus an explicit new opt-in that lifts them. */
export const consentActions = ['grant-email', 'stop-topic', 'stop-all-email', 'do-not-contact', 'forget-me'] as const;
export const ConsentAction = z.enum(consentActions);
export type ConsentAction = z.infer<typeof ConsentAction>;

const dealRef = {
  dealId: z.string().min(1).max(128).optional(),
  amount: money.optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD').optional(),
};

/** Type-specific `data` of every inbound event. */
export const inboundData = {
  'lead-closed-lost': z
    .object({
      reason: LostReason,
      note: z.string().max(2000).optional(),
      ...dealRef,
      revisitAfter: isoDateOrInstant.optional().describe('the rep asked to come back after this date'),
      contractEndsAt: isoDateOrInstant.optional().describe("the competitor's contract ends then"),
      permissionAskOnly: z
        .literal(true)
        .optional()
        .describe('an old loss brought in by `cultivate import`: no thank-you note and no value e-mails, only the permission-ask task until the contact opts in'),
    })
    .strict(),
  'deal-created': z.object({ ...dealRef }).strict(),
  'deal-reopened': z.object({ ...dealRef }).strict(),
  'deal-won': z.object({ ...dealRef }).strict(),
  'meeting-booked': z
    .object({ meetingId: z.string().max(128).optional(), startsAt: isoInstant.optional() })
    .strict(),
  'touch-completed': z
    .object({
      touchId: z.string().min(1).max(128),
      outcome: TouchOutcome,
      note: z.string().max(2000).optional(),
    })
    .strict(),
  'contact-replied': z
    .object({
      messageId: z.string().max(998).optional(),
      channel: z.enum(['email', 'phone', 'social', 'other']).default('email'),
      classification: z.enum(['human', 'missed-me']).default('human'),
      touchId: z.string().max(128).optional(),
    })
    .strict(),
  'contact-updated': z.object({}).strict(),
  'contact-moved': z
    .object({
      newAccountId: z.string().min(1).max(200).optional(),
      newCompany: z.string().min(1).max(200).optional(),
      newEmail: emailAddress.optional(),
      leftCompany: z
        .boolean()
        .optional()
        .describe('the person wrote that they have left (a reply to Cultivate): the old relationship retires and the owner gets a research task'),
    })
    .strict(),
  'consent-changed': z
    .object({
      action: ConsentAction,
      topic: z.string().min(1).max(64).optional(),
      consent: ConsentRecord.optional(),
      source: z.string().max(128).optional(),
    })
    .strict()
    .refine((d) => d.action !== 'stop-topic' || d.topic !== undefined, {
      message: 'stop-topic needs a topic',
      path: ['topic'],
    })
    .refine((d) => d.action !== 'grant-email' || d.consent?.email === 'granted', {
      message: 'grant-email needs a consent record with email "granted"',
      path: ['consent'],
    }),
  'referral-received': z
    .object({
      referredBy: z.string().max(200).optional().describe('who referred them (an id, not an address)'),
      note: z.string().max(2000).optional(),
    })
    .strict(),
  'relationship-erasure-requested': z
    .object({ requestedBy: z.string().max(200).optional() })
    .strict(),
} as const;

export type InboundType = keyof typeof inboundData;
export const inboundTypes = Object.keys(inboundData) as InboundType[];

const eventBase = {
  id: z.string().min(1).max(128).regex(/^[\w.:\-/@]+$/, 'may hold letters, digits and _.:-/@ only').describe('the dedupe key'),
  occurredAt: isoInstant,
  contact: Contact,
};

function inboundEvent<T extends InboundType>(type: T) {
  return z.object({ ...eventBase, type: z.literal(type), data: inboundData[type] }).strict();
}

export const InboundEvent = z.discriminatedUnion('type', [
  inboundEvent('lead-closed-lost'),
  inboundEvent('deal-created'),
  inboundEvent('deal-reopened'),
  inboundEvent('deal-won'),
  inboundEvent('meeting-booked'),
  inboundEvent('touch-completed'),
  inboundEvent('contact-replied'),
  inboundEvent('contact-updated'),
  inboundEvent('contact-moved'),
  inboundEvent('consent-changed'),
  inboundEvent('referral-received'),
  inboundEvent('relationship-erasure-requested'),
]);
export type InboundEvent = z.infer<typeof InboundEvent>;
export type InboundEventOf<T extends InboundType> = Extract<InboundEvent, { type: T }>;

export const MAX_EVENTS_PER_REQUEST = 100;
export const WebhookBatch = z.array(InboundEvent).min(1).max(MAX_EVENTS_PER_REQUEST);
/** One event or an array of up to 100. For validation pick by shape (`webhookSchemaFor`), so errors name the fields. */
export const WebhookBody = z.union([InboundEvent, WebhookBatch]);
export function webhookSchemaFor(json: unknown): typeof InboundEvent | typeof WebhookBatch {
  return Array.isArray(json) ? WebhookBatch : InboundEvent;
}

// ---------------------------------------------------------------------------------------------
// On the bus. Inbound events travel as a reference (claim check): the payload, with its personal
// data, waits in the table under an inbox key and is deleted once applied, because the bus
// archive cannot forget anyone. The bus carries ids and what routing needs.
// ---------------------------------------------------------------------------------------------

export const InboundEnvelope = z
  .object({
    id: z.string().describe('namespaced event id: <source>:<crm event id>'),
    type: z.enum(inboundTypes as [InboundType, ...InboundType[]]),
    occurredAt: isoInstant,
    receivedAt: isoInstant,
    source: z.string(),
    identity: z
      .object({
        emailHash: z.string().optional(),
        crmIds: z.array(z.string()),
        relationshipId: z.string().optional().describe('set by Cultivate itself (an unsubscribe link)'),
      })
      .strict(),
    accountId: z.string().optional(),
    inboxKey: z.string().describe('where the full event waits until applied'),
  })
  .strict();
export type InboundEnvelope = z.infer<typeof InboundEnvelope>;

export const ReEngagementBrief = z
  .object({
    lostReason: LostReason.optional(),
    lostAt: isoInstant.optional(),
    lostNote: z.string().max(500).optional(),
    daysInNurture: z.number().int().nonnegative().optional(),
    trigger: z.string(),
    sent: z.array(z.object({ at: isoInstant, channel: z.string(), title: z.string() })).max(10),
    engaged: z.array(z.object({ at: isoInstant, what: z.string() })).max(10),
  })
  .strict();
export type ReEngagementBrief = z.infer<typeof ReEngagementBrief>;

const relRef = {
  relationshipId: z.string(),
  crmIds: z.array(z.string()),
  owner: emailAddress.optional(),
  causeId: z.string().optional().describe('the event that caused this one: consumers dedupe on it'),
  accountId: z.string().optional().describe("the account's id as the CRM adapter set it (associations)"),
  dealId: z.string().optional().describe('the lost deal, as the CRM sent its id (associations)'),
};

export const internalDetail = {
  /** A CRM's notification waiting in the inbox to be normalised: ids only (the payload may hold personal data). */
  'crm-notification': z
    .object({
      id: z.string().describe('stable across the CRM retries: <crm>:<portal>:<delivery id>'),
      crm: z.enum(['hubspot', 'salesforce', 'pipedrive']),
      portal: z.string(),
      kind: z.string().max(100),
      occurredAt: isoInstant,
      receivedAt: isoInstant,
      inboxKey: z.string(),
    })
    .strict(),
  'touch-due': z.object({ relationshipId: z.string(), touchId: z.string(), channel: z.string(), dueAt: isoInstant }).strict(),
  'email-sent': z
    .object({ relationshipId: z.string(), touchId: z.string(), messageId: z.string(), contentId: z.string().optional(), sentAt: isoInstant })
    .strict(),
  'task-assigned': z
    .object({
      ...relRef,
      touchId: z.string(),
      kind: z.string(),
      title: z.string(),
      why: z.string(),
      dueDate: z.iso.date().describe("the due date in the owner's time zone"),
      ownerTimezone: timeZone.optional(),
      talkingPoints: z.array(z.string().max(500)).max(10).optional().describe('what to say: facts from the relationship, no contact details'),
      links: z.array(z.object({ label: z.string().max(100), url: z.string().url() }).strict()).max(5).optional(),
      outcomes: z.array(TouchOutcome),
    })
    .strict(),
  'relationship-re-engaged': z.object({ ...relRef, brief: ReEngagementBrief }).strict(),
  'relationship-retired': z.object({ ...relRef, reason: z.string() }).strict(),
  /**
   * A human reply, forwarded to the owner with the re-engagement brief on top. It carries the
   * reply's text (personal data), so it never rides the bus: the replies handler delivers it
   * through the CRM outbound port directly (idempotent on the message).
   */
  'reply-forwarded': z
    .object({
      ...relRef,
      touchId: z.string().optional(),
      messageKey: z.string().describe('hash of the Message-ID: the dedupe key'),
      classification: z.enum(['human', 'missed-me', 'left-company']),
      receivedAt: isoInstant,
      from: z.string().max(320).optional(),
      subject: z.string().max(998),
      text: z.string().max(20_000).describe("the reply's own text, quoted history removed"),
      quoted: z.boolean().describe('whether quoted history was removed'),
      brief: ReEngagementBrief,
      headers: z.record(z.string(), z.string()).describe('X-Cultivate-Forward: 1 marks the forward, so it is never read as a reply again'),
    })
    .strict(),
  'consent-changed': z
    .object({ ...relRef, action: ConsentAction, topic: z.string().optional(), email: z.enum(['granted', 'denied', 'unknown']) })
    .strict(),
} as const;
export type InternalType = keyof typeof internalDetail;
export type InternalDetail<T extends InternalType> = z.infer<(typeof internalDetail)[T]>;
