/** JSON Schema export of the catalog for integrators (`npm run catalog`). */
import { z } from 'zod';
import { InboundEvent, InboundEnvelope, WebhookBody, internalDetail, ConsentRecord, Contact, Account } from './events.ts';

export function catalogJsonSchemas(): Record<string, unknown> {
  const schemas: Record<string, z.ZodType> = {
    'webhook-body': WebhookBody,
    'inbound-event': InboundEvent,
    'inbound-envelope': InboundEnvelope,
    contact: Contact,
    account: Account,
    consent: ConsentRecord,
  };
  for (const [type, schema] of Object.entries(internalDetail)) schemas[`bus/${type}`] = schema;
  return Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [name, z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })]),
  );
}
