/** config/sending.yaml: how Cultivate sends e-mail (domain, footer, SES rate, the ramped daily cap). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

export const SendingConfig = z
  .object({
    sendingDomain: z.string().regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/i, 'must be a domain such as mail.seller.example'),
    /**
     * The subdomain SES receives replies on (MX to inbound-smtp.<region>.amazonaws.com). When set,
     * Reply-To is `r-<signed token>@<replyDomain>`, naming the person and the touch without
     * exposing either; when absent, Reply-To is the owner.
     */
    replyDomain: z.string().regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/i, 'must be a domain such as reply.seller.example').optional(),
    companyName: z.string().min(1),
    postalAddress: z.string().min(10, 'must be a full postal address'),
    sesMaxSendRate: z.number().int().min(1).max(10_000),
    leaseSeconds: z.number().int().min(30).max(3600),
    dailyCap: z
      .object({
        domainStart: z.iso.date(),
        ramp: z
          .array(z.object({ fromDay: z.number().int().min(0), perDay: z.number().int().min(1) }).strict())
          .min(1)
          .refine((r) => r[0]?.fromDay === 0, 'the first step must start at fromDay 0')
          .refine((r) => r.every((s, i) => i === 0 || s.fromDay > (r[i - 1] as { fromDay: number }).fromDay), 'steps must be in increasing fromDay order'),
      })
      .strict(),
  })
  .strict();
export type SendingConfig = z.infer<typeof SendingConfig>;

export function loadSendingConfig(dir = 'config'): SendingConfig {
  const file = join(dir, 'sending.yaml');
  const parsed = SendingConfig.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

const DAY_MS = 86_400_000;

/** The global cap on e-mails for the UTC day of `now`. */
export function dailyCapFor(config: SendingConfig, now: Date): number {
  const day = Math.floor((now.getTime() - Date.parse(`${config.dailyCap.domainStart}T00:00:00Z`)) / DAY_MS);
  let cap = config.dailyCap.ramp[0]?.perDay ?? 0;
  for (const step of config.dailyCap.ramp) if (day >= step.fromDay) cap = step.perDay;
  return cap;
}
