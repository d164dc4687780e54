import type { OwnerProfile } from '#domain/email';

/** The owner who takes a relationship's tasks (inactive → manager → fallback), as CRM outbound adapters need it. */
export function ownerContact(owner: (email: string | undefined) => OwnerProfile, email: string | undefined): { email: string; name: string; timezone: string } {
  const o = owner(email);
  return { email: o.email, name: o.name, timezone: o.timezone ?? 'UTC' };
}
