/**
 * The single-table layout, in one place. Keys hold no plain personal data: e-mail addresses
 * appear only as keyed hashes.
 *
 *   REL#<id>        STATE                   relationship state (+ duePk/dueSk while a touch is planned)
 *   REL#<id>        TL#<at>#<eventId>       timeline entry (append-only)
 *   ID#E#<hash>     ID                      e-mail hash -> relationship
 *   ID#C#<crmId>    ID                      namespaced CRM id -> relationship
 *   SUP#<hash>      SUP                     suppression by keyed hash; outlives erasure
 *   INBOX#<eventId> INBOX                   claim check for an inbound event (TTL 3 days)
 *   REL#<id>        SLA#<touchId>           an open task's SLA (+ duePk/dueSk until it is escalated or done)
 *   ACCT#<accountId> CAP                    per-account touches of the last 30 days (guardrails)
 *   OWNER#<hash>    WEEK#<isoWeek>          human tasks one owner got that week (TTL)
 *   CAP#<day>       CAP                     the global daily send cap's counter
 *   QUAR#<day>      <at>#<id>               authentic input kept instead of applied (TTL 14 days)
 *   MASS#<crm>      ...                     the mass-close gate's hold
 *   IMPORT#<id>     ...                     `cultivate import` ledger (nothing imported twice)
 *   AGG#W#<week>, AGG#M#<month>  C#<metric>#<dim>#<value>   metric aggregates (stream-fed)
 *   AGG#W#<week>#O, AGG#M#<month>#O  C#...#owner#...   the same, per owner: read only when asked for
 *   AGG#G           C#...                   gauges (relationships by stage)
 *   AGG#S#<month>   <group>#<day>           survival counts per cohort day
 *   AGGSEQ#<shard>  SEQ                     the last stream sequence counted per shard
 *   FEEDTOKEN       <id>                    a feed reader's token: the secret's SHA-256, never the secret (ADR 0006)
 *   RULES           V#<version>, REPLAN     published rules versions (local; AppConfig on AWS) and the replan job's cursor
 *   GSI "due":      duePk = DUE#<shard>, dueSk = <dueAt or lease end>#<id>, projects `lease`
 *                   sparse: only relationships with an open touch
 *   GSI "lunch":    lunchPk = LUNCH#<owner digest>#<country>#<city slug>, lunchSk = <lunch due>#<id>,
 *                   projects `lunchAcct`, `lunchTags`; sparse: only relationships whose next touch
 *                   is a lunch (functions/domain/lunch.ts)
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { fnv1a32 } from '#domain/hash';

export const DUE_INDEX = 'due';
export const LUNCH_INDEX = 'lunch';
export const DUE_SHARDS = 8;
export const TTL_ATTRIBUTE = 'expiresAt';

export const keys = {
  relationship: (id: string) => ({ pk: `REL#${id}`, sk: 'STATE' }),
  timeline: (id: string, at: string, eventId: string) => ({ pk: `REL#${id}`, sk: `TL#${at}#${eventId}` }),
  emailIdentity: (hash: string) => ({ pk: `ID#E#${hash}`, sk: 'ID' }),
  crmIdentity: (crmId: string) => ({ pk: `ID#C#${crmId}`, sk: 'ID' }),
  suppression: (hash: string) => ({ pk: `SUP#${hash}`, sk: 'SUP' }),
  inbox: (eventId: string) => ({ pk: `INBOX#${eventId}`, sk: 'INBOX' }),
  taskSla: (id: string, touchId: string) => ({ pk: `REL#${id}`, sk: `SLA#${touchId}` }),
  accountCap: (accountId: string) => ({ pk: `ACCT#${accountId}`, sk: 'CAP' }),
  ownerWeek: (ownerHash: string, week: string) => ({ pk: `OWNER#${ownerHash}`, sk: `WEEK#${week}` }),
} as const;

/** The due-index sort key of a task's SLA entry: `<slaAt>#SLA#<touchId>` (the sweep tells it from a touch by the marker). */
export const SLA_MARK = '#SLA#';

/** Stable shard of a relationship in the due index, so a sweep can fan out. */
export function dueShard(relationshipId: string): number {
  return fnv1a32(relationshipId) % DUE_SHARDS;
}

/** CreateTable input matching lib/table.ts, for DynamoDB Local. */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'duePk', AttributeType: 'S' },
      { AttributeName: 'dueSk', AttributeType: 'S' },
      { AttributeName: 'lunchPk', AttributeType: 'S' },
      { AttributeName: 'lunchSk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: DUE_INDEX,
        KeySchema: [
          { AttributeName: 'duePk', KeyType: 'HASH' },
          { AttributeName: 'dueSk', KeyType: 'RANGE' },
        ],
        // `lease` rides along so a sweep can pass over claims still running without a write.
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['lease'] },
      },
      lunchIndexDefinition(),
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  };
}

/** The lunch index as CreateTable (and UpdateTable, for a local table kept from before it) takes it. */
export function lunchIndexDefinition() {
  return {
    IndexName: LUNCH_INDEX,
    KeySchema: [
      { AttributeName: 'lunchPk', KeyType: 'HASH' as const },
      { AttributeName: 'lunchSk', KeyType: 'RANGE' as const },
    ],
    // What the grouping needs to tell competitors apart, without reading each person's state.
    Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: ['lunchAcct', 'lunchTags'] },
  };
}

export function idempotencyTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  };
}
