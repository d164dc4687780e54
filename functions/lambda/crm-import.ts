/**
 * HTTP API (JWT): POST /crm/{crm}/import, `cultivate import <crm>`: past lost deals from the CRM's
 * own search, one page per call (a cursor resumes), paced, through the normaliser like live ones.
 */
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { documentClient } from '#adapters/dynamo-store';
import { DynamoImportLedger } from '#adapters/dynamo-import-ledger';
import { withErrors } from '#http/app';
import { importRoutes, lostDealListers } from '#http/import';
import { crmConfig, crmSettings } from './crm.ts';
import { clock, dynamo, env, inboxStore, logger, publisher } from './runtime.ts';

const app = withErrors(new Hono(), logger);
app.route(
  '/',
  importRoutes({
    clock,
    logger,
    inbox: inboxStore(),
    publisher: publisher(),
    ledger: new DynamoImportLedger(documentClient(dynamo()), env('TABLE_NAME')),
    rule: crmConfig().import,
    lister: lostDealListers(crmSettings, crmConfig()),
  }),
);

export const handler = handle(app);
