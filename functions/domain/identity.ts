/** Identity rules, pure: how an address and a CRM id become stable keys. */

/** Lower-case, trimmed; the local part is kept as written (plus-addressing is a real distinct inbox). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** CRM ids are namespaced `crm:portal-or-org:id` so two CRMs cannot collide. */
export function namespacedCrmId(crm: string, portal: string, id: string): string {
  return `${crm}:${portal}:${id}`;
}

/** Inbound event ids are namespaced by their source: the dedupe key. */
export function namespacedEventId(source: string, id: string): string {
  return `${source}:${id}`;
}

/** A touch id names its relationship and plan version, so a CRM task points back without a lookup. */
export function touchIdFor(relationshipId: string, planVersion: number): string {
  return `${relationshipId}.t${planVersion}`;
}

export function relationshipIdOfTouch(touchId: string): string | undefined {
  const m = /^(rel_[0-9a-f-]+)\.t\d+$/.exec(touchId);
  return m?.[1];
}
