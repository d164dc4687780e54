/**
 * The weekly JSON Feed 1.1 (https://jsonfeed.org/version/1.1): one item per ISO week saying in
 * words what changed against the week before and why it matters, so a feed reader or a chat
 * integration can follow the programme without opening a dashboard. Pure: built from the rows.
 */
import { perThousand, reviewStatus } from './rates.ts';
import type { MetricRow } from './rows.ts';

export const FEED_CONTENT_TYPE = 'application/feed+json';

export interface JsonFeedItem {
  id: string;
  url?: string;
  title: string;
  content_text: string;
  summary: string;
  date_published: string;
  date_modified: string;
  tags: string[];
}

export interface JsonFeed {
  version: 'https://jsonfeed.org/version/1.1';
  title: string;
  home_page_url?: string;
  feed_url?: string;
  description: string;
  language: string;
  items: JsonFeedItem[];
  /** Custom objects start with `_` (JSON Feed 1.1 "Extensions"): readers ignore what they do not know. */
  _cultivate: { schemaVersion: number; weeks: string[] };
}

/** Monday 00:00 UTC of an ISO week such as `2026-W47`. */
export function weekStart(week: string): Date {
  const m = /^(\d{4})-W(\d{2})$/.exec(week);
  if (!m) throw new RangeError(`not an ISO week: ${week}`);
  const jan4 = Date.UTC(Number(m[1]), 0, 4);
  const mondayOfWeek1 = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * 86_400_000;
  return new Date(mondayOfWeek1 + (Number(m[2]) - 1) * 7 * 86_400_000);
}

/** The stable id of a week's item: the same week keeps its id however often the feed is read. */
export const weekItemId = (week: string) => `cultivate:metrics:week:${week}`;

interface Week {
  entered: number;
  reengaged: number;
  signals: Record<string, number>;
  emails: number;
  tasks: number;
  skipped: number;
  dealsCreated: { n: number; sum: number };
  dealsWon: { n: number; sum: number };
  reopened: number;
  mail: { sent: number; bounced: number; complained: number; unsubscribed: number };
  tasksCompleted: number;
  tasksOnTime: number;
}

function weekOf(rows: readonly MetricRow[]): Week {
  const get = (metric: string, dimension = 'all', value = 'all') => rows.find((r) => r.metric === metric && r.dimension === dimension && r.value === value);
  const n = (metric: string, dimension?: string, value?: string) => get(metric, dimension, value)?.n ?? 0;
  const sum = (metric: string, dimension: string, value: string) => get(metric, dimension, value)?.sum ?? 0;
  const signals: Record<string, number> = {};
  for (const r of rows) if (r.metric === 'nurture.re-engaged' && r.dimension === 'signal' && r.n > 0) signals[r.value] = r.n;
  return {
    entered: n('nurture.entered'),
    reengaged: n('nurture.re-engaged'),
    signals,
    emails: n('touch.sent', 'channel', 'email'),
    tasks: n('touch.sent', 'channel', 'task'),
    skipped: n('touch.skipped'),
    dealsCreated: { n: n('crm.deal-created', 'source', 'nurture'), sum: sum('crm.deal-created', 'source', 'nurture') },
    dealsWon: { n: n('crm.deal-won', 'source', 'nurture'), sum: sum('crm.deal-won', 'source', 'nurture') },
    reopened: n('crm.deal-reopened', 'source', 'nurture'),
    mail: { sent: n('email.sent'), bounced: n('email.bounced'), complained: n('email.complained'), unsubscribed: n('email.unsubscribed') },
    tasksCompleted: n('task.completed'),
    tasksOnTime: n('task.completed', 'timeliness', 'on-time'),
  };
}

const plural = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
const change = (now: number, before: number | undefined) => (before === undefined ? '' : now === before ? ' (as the week before)' : ` (${before} the week before)`);
const money = (v: number) => Math.round(v).toLocaleString('en-US');
const SIGNAL_WORDS: Record<string, string> = {
  reply: 'reply',
  'missed-me': '"missed me" reply',
  meeting: 'meeting',
  'deal-created': 'new deal',
  'deal-reopened': 'reopened deal',
  'deal-won': 'won deal',
};

export interface FeedOptions {
  /** Oldest first; the week before the first is read too, for its comparison. */
  weeks: readonly string[];
  rowsByWeek: ReadonlyMap<string, readonly MetricRow[]>;
  /** The week before `weeks[0]` (compared with, not shown). */
  previousRows?: readonly MetricRow[];
  now: Date;
  thresholds: { bounceRate: number; complaintRate: number; alarmAt: number };
  schemaVersion: number;
  feedUrl?: string;
  homePageUrl?: string;
}

function weekItem(week: string, w: Week, before: Week | undefined, o: FeedOptions): JsonFeedItem {
  const start = weekStart(week);
  const end = new Date(start.getTime() + 7 * 86_400_000);
  const running = o.now < end;
  const lines: string[] = [];
  const tags = new Set<string>(['metrics']);

  lines.push(`${plural(w.entered, 'lost deal')} entered nurture${change(w.entered, before?.entered)}: each one is a "not now" kept warm instead of a closed door.`);
  if (w.reengaged > 0) {
    const how = Object.entries(w.signals)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([s, k]) => plural(k, SIGNAL_WORDS[s] ?? s))
      .join(', ');
    lines.push(`${plural(w.reengaged, 'relationship')} re-engaged${change(w.reengaged, before?.reengaged)} (${how}): human signals only, never opens or scanner clicks, so these are conversations that restarted.`);
    tags.add('re-engagement');
  } else {
    lines.push(`No relationship re-engaged${change(0, before?.reengaged)}; re-engagement is slow by nature, the survival curves in GET /metrics show whether cohorts are on track.`);
  }
  const pipeline: string[] = [];
  if (w.dealsCreated.n > 0) pipeline.push(`${plural(w.dealsCreated.n, 'deal')} created${w.dealsCreated.sum > 0 ? ` worth ${money(w.dealsCreated.sum)}` : ''}`);
  if (w.reopened > 0) pipeline.push(`${plural(w.reopened, 'deal')} reopened`);
  if (w.dealsWon.n > 0) pipeline.push(`${plural(w.dealsWon.n, 'deal')} won${w.dealsWon.sum > 0 ? ` worth ${money(w.dealsWon.sum)}` : ''}`);
  if (pipeline.length > 0) {
    lines.push(`Pipeline from nurture: ${pipeline.join(', ')}. This is revenue that would otherwise have been written off.`);
    tags.add('pipeline');
  }
  lines.push(
    `Touches: ${plural(w.emails, 'e-mail')} sent and ${plural(w.tasks, 'task')} handed to reps${w.skipped > 0 ? `; ${plural(w.skipped, 'touch', 'touches')} skipped or pushed by consent, caps or the send window` : ''}.` +
      (w.tasksCompleted > 0 ? ` Reps completed ${plural(w.tasksCompleted, 'task')}, ${w.tasksOnTime} on time: the human notes are what make nurture personal.` : ''),
  );
  if (w.mail.sent > 0) {
    const review = reviewStatus(w.mail, o.thresholds);
    const rate = (k: number) => (perThousand(k, w.mail.sent) as number).toFixed(1);
    const health = review.bounce === 'ok' && review.complaint === 'ok' ? 'within limits' : `needs attention (bounces: ${review.bounce}, complaints: ${review.complaint})`;
    lines.push(
      `Audience health ${health}: per 1,000 e-mails, ${rate(w.mail.bounced)} bounced, ${rate(w.mail.complained)} complaints, ${rate(w.mail.unsubscribed)} unsubscribed. SES reviews a sender at ${o.thresholds.bounceRate * 100}% bounces or ${o.thresholds.complaintRate * 100}% complaints; staying clear keeps every e-mail deliverable.`,
    );
    if (health !== 'within limits') tags.add('attention');
  }
  const summary = `${week}${running ? ' so far' : ''}: ${w.entered} entered nurture, ${w.reengaged} re-engaged, ${plural(w.emails + w.tasks, 'touch', 'touches')}.`;
  return {
    id: weekItemId(week),
    ...(o.homePageUrl && { url: `${o.homePageUrl}?from=${start.toISOString().slice(0, 10)}&to=${new Date(end.getTime() - 86_400_000).toISOString().slice(0, 10)}&groupBy=week` }),
    title: `Nurture, week ${week}${running ? ' (so far)' : ''}`,
    content_text: lines.join('\n\n'),
    summary,
    date_published: (running ? start : end).toISOString(),
    date_modified: (running ? o.now : end).toISOString(),
    tags: [...tags],
  };
}

/** Newest week first, as feed readers expect. */
export function weeklyFeed(o: FeedOptions): JsonFeed {
  const items: JsonFeedItem[] = [];
  let before = o.previousRows ? weekOf(o.previousRows) : undefined;
  for (const week of o.weeks) {
    const w = weekOf(o.rowsByWeek.get(week) ?? []);
    items.push(weekItem(week, w, before, o));
    before = w;
  }
  return {
    version: 'https://jsonfeed.org/version/1.1',
    title: 'Cultivate: nurture and re-engagement, week by week',
    ...(o.homePageUrl && { home_page_url: o.homePageUrl }),
    ...(o.feedUrl && { feed_url: o.feedUrl }),
    description: 'What changed each week in the nurture programme (entries, re-engagements, pipeline, touches, audience health) and why it matters. Definitions: docs/metrics.md.',
    language: 'en',
    items: items.reverse(),
    _cultivate: { schemaVersion: o.schemaVersion, weeks: [...o.weeks] },
  };
}
