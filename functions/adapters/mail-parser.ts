/** Raw MIME to the plain values the reply classifier reads (mailparser does the MIME work). */
import { type AddressObject, simpleParser } from 'mailparser';
import type { ReplyMessage } from '#domain/replies';

export interface ParsedInboundMail {
  message: ReplyMessage;
  messageId?: string;
  /** Every recipient address named in the headers (To, Cc, Delivered-To, X-Original-To). */
  recipients: string[];
  from?: string;
  subject: string;
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list.flatMap((a) => a.value.flatMap((v) => [...(v.address ? [v.address] : []), ...(v.group ?? []).flatMap((g) => (g.address ? [g.address] : []))]));
}

const stripHtml = (html: string) =>
  html
    .replace(/<(style|script)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/p>|<\/div>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

export async function parseInboundMail(raw: Uint8Array): Promise<ParsedInboundMail> {
  const parsed = await simpleParser(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), { skipImageLinks: true, skipTextLinks: true });
  const headers: Record<string, string> = {};
  for (const { key, line } of parsed.headerLines) {
    const k = key.toLowerCase();
    if (headers[k] !== undefined) continue;
    const colon = line.indexOf(':');
    headers[k] = (colon >= 0 ? line.slice(colon + 1) : '').replace(/\r?\n[ \t]+/g, ' ').trim();
  }
  const ct = parsed.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const from = addresses(parsed.from)[0];
  const extra = ['delivered-to', 'x-original-to'].flatMap((h) => (headers[h] ? [headers[h].replace(/[<>]/g, '')] : []));
  const text = parsed.text ?? (typeof parsed.html === 'string' ? stripHtml(parsed.html) : '');
  const subject = parsed.subject ?? '';
  return {
    message: {
      headers,
      ...(from && { from }),
      subject,
      text,
      ...(ct?.value && { contentType: ct.value }),
      ...(ct?.params?.['report-type'] && { reportType: ct.params['report-type'] }),
      partTypes: parsed.attachments.map((a) => a.contentType),
      ...(parsed.date && { date: parsed.date }),
    },
    ...(parsed.messageId && { messageId: parsed.messageId }),
    recipients: [...addresses(parsed.to), ...addresses(parsed.cc), ...extra],
    ...(from && { from }),
    subject,
  };
}
