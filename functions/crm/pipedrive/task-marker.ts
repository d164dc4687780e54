/**
 * How a Cultivate task is recognised when the rep marks it done in Pipedrive. Pipedrive activities
 * have no custom "external id" and no outcome field, so the activity note carries both: a line
 * `Cultivate touch id: <id>` and a tick list of outcomes (`[ ] no-answer`) where the rep ticks one
 * (`[x] no-answer`). Nothing ticked means plainly done.
 */
import { touchOutcomes, type TouchOutcome } from '#catalog/events';

export const TOUCH_MARKER = 'Cultivate touch id:';
const TOUCH_RE = /Cultivate touch id:\s*(?:<[^>]*>\s*)*([\w.:\-/@]{1,128})/i;
const TICKED_RE = new RegExp(`\\[\\s*[xX✓✔]\\s*\\]\\s*(?:<[^>]*>\\s*)*(${[...touchOutcomes].sort((a, b) => b.length - a.length).join('|')})\\b`);

export function touchIdIn(text: string | null | undefined): string | undefined {
  return text ? TOUCH_RE.exec(text)?.[1] : undefined;
}

export function tickedOutcome(text: string | null | undefined): TouchOutcome | undefined {
  return text ? (TICKED_RE.exec(text)?.[1] as TouchOutcome | undefined) : undefined;
}

/** The tick list written into a task, one line per offered outcome. */
export const tickList = (outcomes: readonly string[]) => outcomes.map((o) => `[ ] ${o}`);
