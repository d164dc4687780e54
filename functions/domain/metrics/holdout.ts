/**
 * The holdout: a stable, keyed assignment of accounts to "holdout" (no touches at all) or
 * "nurtured". Deterministic (same account, same settings, same group, on every machine and every
 * run) and uniform (HMAC-SHA-256 output is indistinguishable from random without the salt, so reps
 * cannot predict or steer it).
 */
import { createHmac } from 'node:crypto';

export type Group = 'nurtured' | 'holdout';

export interface HoldoutSettings {
  /** Share of accounts held out, 0 to 50. */
  percent: number;
  salt: string;
}

/** A number in [0, 1) from the keyed hash of the account id: the account's place on the line. */
export function holdoutPosition(accountId: string, salt: string): number {
  const mac = createHmac('sha256', salt).update(accountId, 'utf8').digest();
  // 48 bits are plenty for percent precision and stay exact in a double.
  return mac.readUIntBE(0, 6) / 2 ** 48;
}

export function assignHoldout(accountId: string, settings: HoldoutSettings): Group {
  return holdoutPosition(accountId, settings.salt) * 100 < settings.percent ? 'holdout' : 'nurtured';
}
