/**
 * Salesforce record ids come in two forms: 15 characters, case-sensitive (what the UI shows and
 * what admins paste), and 18 characters, whose last three characters encode the case of the first
 * fifteen so tools that ignore case still tell ids apart. Both forms name the same record, so every
 * comparison (the org allow-list above all) goes through the canonical 18-character form.
 */

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID_SHAPE = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** Looks like a Salesforce id (15 or 18 letters and digits). Safe to put in a SOQL literal. */
export function isSalesforceId(value: unknown): value is string {
  return typeof value === 'string' && ID_SHAPE.test(value);
}

function suffixOf(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return suffix;
}

/**
 * The canonical 18-character id, or undefined when `id` is not a Salesforce id. An 18-character id
 * whose case was lost (lower-cased by a spreadsheet) is restored from its suffix; one whose suffix
 * contradicts its letters is refused rather than guessed.
 */
export function canonicalId(id: string): string | undefined {
  const trimmed = id.trim();
  if (!ID_SHAPE.test(trimmed)) return undefined;
  if (trimmed.length === 15) return trimmed + suffixOf(trimmed);
  const suffix = trimmed.slice(15).toUpperCase();
  let head = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    const bits = SUFFIX_ALPHABET.indexOf(suffix[chunk] ?? '');
    if (bits < 0) return undefined;
    for (let i = 0; i < 5; i++) {
      const ch = trimmed[chunk * 5 + i] ?? '';
      const upper = (bits & (1 << i)) !== 0;
      if (/[0-9]/.test(ch)) {
        if (upper) return undefined;
        head += ch;
      } else head += upper ? ch.toUpperCase() : ch.toLowerCase();
    }
  }
  return head + suffix;
}

/** Do two ids (any mix of 15 and 18 characters) name the same record? */
export function sameId(a: string, b: string): boolean {
  const ca = canonicalId(a);
  return ca !== undefined && ca === canonicalId(b);
}

/** Parses a comma-separated list of ids (the org allow-list); entries that are not ids are dropped. */
export function idList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => canonicalId(s))
    .filter((s): s is string => s !== undefined);
}

/** The object a record id points at, from its key prefix (standard objects only). */
export function objectOfId(id: string): 'Contact' | 'Lead' | 'Account' | 'Opportunity' | 'User' | undefined {
  switch (id.slice(0, 3)) {
    case '003':
      return 'Contact';
    case '00Q':
      return 'Lead';
    case '001':
      return 'Account';
    case '006':
      return 'Opportunity';
    case '005':
      return 'User';
    default:
      return undefined;
  }
}
