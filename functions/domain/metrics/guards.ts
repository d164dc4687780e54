/** Guard evaluation (pure): the same rule for live updates and for the rebuild. */
import { keyString } from './deltas.ts';
import type { Fact, ItemKey } from './types.ts';

export class GuardLedger {
  private readonly onRecord: Set<string>;
  /** Keys recorded by facts admitted through this ledger, in order. */
  readonly recorded: ItemKey[] = [];

  /** `present`: keys already on record in the table. */
  constructor(present: Iterable<string> = []) {
    this.onRecord = new Set(present);
  }

  has(key: ItemKey): boolean {
    return this.onRecord.has(keyString(key));
  }

  /** Whether the fact counts; a counted `once` fact records its key. */
  admit(fact: Fact): boolean {
    const g = fact.guard;
    if (!g) return true;
    if (g.requires && !this.has(g.requires)) return false;
    if (g.unless && this.has(g.unless)) return false;
    if (g.once) {
      if (this.has(g.once)) return false;
      this.onRecord.add(keyString(g.once));
      this.recorded.push(g.once);
    }
    return true;
  }
}

/** Every key a list of facts' guards look at (to read them before deciding). */
export function guardKeys(facts: readonly Fact[]): ItemKey[] {
  const out = new Map<string, ItemKey>();
  for (const f of facts) for (const k of [f.guard?.once, f.guard?.requires, f.guard?.unless]) if (k) out.set(keyString(k), k);
  return [...out.values()];
}
