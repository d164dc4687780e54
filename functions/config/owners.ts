/** Owner routing (pure): an inactive owner's touches go to their manager, else to the fallback owner. */
import type { Owner, OwnersConfig } from './schema.ts';

export interface ResolvedOwner {
  owner: Owner;
  /** `owner`: the assigned owner is active; `manager`: an active manager up the chain; `fallback`: the fallback owner. */
  via: 'owner' | 'manager' | 'fallback';
}

function find(owners: OwnersConfig, email: string | undefined): Owner | undefined {
  if (email === undefined) return undefined;
  const key = email.trim().toLowerCase();
  return owners.owners.find((o) => o.email.toLowerCase() === key);
}

/**
 * Who takes the touches of a relationship owned by `email`: that owner when active; else the
 * first active manager up the chain; else the fallback owner. An unknown or missing owner goes
 * to the fallback owner too. A validated config always has an active fallback owner.
 */
export function resolveOwner(owners: OwnersConfig, email: string | undefined): ResolvedOwner {
  const assigned = find(owners, email);
  if (assigned?.active) return { owner: assigned, via: 'owner' };
  const seen = new Set<string>();
  let current = assigned;
  while (current && !seen.has(current.email.toLowerCase())) {
    seen.add(current.email.toLowerCase());
    const manager = find(owners, current.manager);
    if (manager?.active) return { owner: manager, via: 'manager' };
    current = manager;
  }
  const fallback = find(owners, owners.fallbackOwner) ?? owners.owners.find((o) => o.active) ?? owners.owners[0];
  if (!fallback) throw new Error('owners config has no owners');
  return { owner: fallback, via: 'fallback' };
}
