/**
 * Test helpers for `cultivate import <crm>` (functions/crm/import.ts): an in-memory ledger for
 * runner tests that are not about the DynamoDB one (test/crm/import-ledger.test.ts is), and a
 * loop that follows a CRM lister's cursor to the end.
 */
import type { ImportLedger, ListLostDeals, ListWindow } from '#crm/import';

/** Remembers imported notification ids for one test's runs. */
export class MemoryImportLedger implements ImportLedger {
  readonly ids = new Set<string>();
  async seen(ids: readonly string[]): Promise<Set<string>> {
    return new Set(ids.filter((id) => this.ids.has(id)));
  }
  async remember(items: readonly { id: string }[]): Promise<void> {
    for (const i of items) this.ids.add(i.id);
  }
}

/** Lists `window` page by page, following the cursor until the lister hands none back: every notification id, in order, and the page count. */
export async function drainLister(list: ListLostDeals, window: Omit<ListWindow, 'cursor'>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await list({ ...window, ...(cursor !== undefined && { cursor }) });
    ids.push(...page.notifications.map((n) => n.id));
    cursor = page.cursor;
    pages++;
  } while (cursor !== undefined);
  return { ids, pages };
}
