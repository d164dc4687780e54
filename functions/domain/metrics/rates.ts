/** Audience health per 1,000 e-mails, by mailbox provider, against SES's review thresholds. Pure. */

export interface MailCounts {
  sent: number;
  bounced: number;
  complained: number;
  unsubscribed: number;
}

export interface MailRates extends MailCounts {
  /** Sent minus permanent bounces (SES delivery events are not stored: docs/metrics.md). */
  delivered: number;
  perThousand: { delivered: number; bounced: number; complained: number; unsubscribed: number } | null;
}

export const perThousand = (count: number, emails: number): number | null => (emails > 0 ? (count * 1000) / emails : null);

export function mailRates(c: MailCounts): MailRates {
  const delivered = Math.max(0, c.sent - c.bounced);
  const r = (n: number) => perThousand(n, c.sent) as number;
  return { ...c, delivered, perThousand: c.sent > 0 ? { delivered: r(delivered), bounced: r(c.bounced), complained: r(c.complained), unsubscribed: r(c.unsubscribed) } : null };
}

export interface ReviewStatus {
  bounceRate: number | null;
  complaintRate: number | null;
  /** `ok`, `alarm` (past alarmAt of a threshold), `review` (past SES's own threshold). */
  bounce: 'ok' | 'alarm' | 'review';
  complaint: 'ok' | 'alarm' | 'review';
}

export function reviewStatus(c: MailCounts, t: { bounceRate: number; complaintRate: number; alarmAt: number }): ReviewStatus {
  const rate = (n: number) => (c.sent > 0 ? n / c.sent : null);
  const level = (r: number | null, limit: number) => (r === null ? 'ok' : r >= limit ? 'review' : r >= limit * t.alarmAt ? 'alarm' : 'ok');
  const bounceRate = rate(c.bounced);
  const complaintRate = rate(c.complained);
  return { bounceRate, complaintRate, bounce: level(bounceRate, t.bounceRate), complaint: level(complaintRate, t.complaintRate) };
}
