/**
 * HTTP API (JWT): GET /quarantine?day= and POST /quarantine/{id}/replay, for whoever reviews what
 * was kept (`cultivate quarantine list` / `replay`). Replays do not authenticate again, so this
 * function reads no CRM secret; it only needs to know which CRMs are configured.
 */
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { quarantineRoutes, withErrors } from '#http/app';
import { crmSettings, quarantine, registry } from './crm.ts';
import { clock, hasher, inboxStore, logger, publisher } from './runtime.ts';

const app = withErrors(new Hono(), logger);
app.route('/', quarantineRoutes({ clock, logger, inbox: inboxStore(), publisher: publisher(), hasher, adapter: (crm) => registry.adapter(crm), quarantine: quarantine(), allowedOrgIds: () => crmSettings.get('CULTIVATE_SALESFORCE_ORG_IDS') }));

export const handler = handle(app);
