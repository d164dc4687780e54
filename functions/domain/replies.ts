/**
 * Reading a reply (pure): what kind of message came back to a reply address, with the evidence
 * that decided it. The evidence names a header or one of our own phrase labels, never the
 * message's text, so it may go on the timeline and its kind into logs.
 *
 * Order: Cultivate's own forward, a bounce (DSN), "I have left the company", out of office,
 * other automatic mail (RFC 3834 and friends), an unsubscribe in words, else a human reply.
 * Phrases are matched on the new text only: quoted history is stripped first.
 */
import type { Planner } from './planner.ts';
import { APPLIED_EVENT_MEMORY, type RelationshipState, type TimelineEntry } from './types.ts';

export type ReplyClass = 'automatic' | 'out-of-office' | 'bounce' | 'unsubscribe' | 'left-company' | 'human';

export interface ReplyEvidence {
  kind: 'header' | 'sender' | 'structure' | 'phrase' | 'default';
  /** A header name and value class, or the label of the phrase that matched (never message text). */
  detail: string;
}

/** What the classifier reads: a parsed message, reduced to plain values (no mail library types). */
export interface ReplyMessage {
  /** Lower-cased header names, first value of each, decoded. */
  headers: Readonly<Record<string, string>>;
  /** The sender's address, if any. */
  from?: string;
  subject: string;
  /** The plain text (from the text part, or from the HTML when there is none). */
  text: string;
  /** Top-level MIME type and its report-type parameter, if any. */
  contentType?: string;
  reportType?: string;
  /** MIME types of every part (attachments included), to see message/delivery-status. */
  partTypes?: readonly string[];
  /** When the message was written (Date header), for resolving return dates without a year. */
  date?: Date;
}

export interface ReplyClassification {
  class: ReplyClass;
  evidence: ReplyEvidence;
  /** Out of office: the stated return date (YYYY-MM-DD), when one is given. */
  returnDate?: string;
  /** Left the company: what they said about where they went. */
  newCompany?: string;
  newEmail?: string;
  /** The reply's own text, quoted history removed. */
  newText: string;
}

// ---------------------------------------------------------------------------------------------
// Quoted history

const ATTRIBUTION = [
  /^\s*On\b.*\bwrote:\s*$/i,
  /^\s*Am\b.*\bschrieb\b.*:\s*$/i,
  /^\s*Le\b.*\ba écrit\s*:\s*$/i,
  /^\s*El\b.*\bescribió:\s*$/i,
  /^\s*Op\b.*\bschreef\b.*:\s*$/i,
  /^\s*Em\b.*\bescreveu:\s*$/i,
];
const SEPARATOR = [
  /^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Oorspronkelijk bericht|Mensagem original)\s*-{2,}/i,
  /^\s*_{10,}\s*$/,
  /^\s*-{5,}\s*Forwarded message\s*-{5,}/i,
];
const OUTLOOK_FROM = /^\s*\*?(From|Von|De|Van)\s*:\*?\s/i;
const OUTLOOK_SENT = /^\s*\*?(Sent|Gesendet|Envoyé|Enviado|Verzonden|Date|Datum|Data|Fecha)\s*:\*?\s/i;

/** The new text of a reply: cut at the first attribution, separator or Outlook header block; "> " lines and the signature dropped. */
export function stripQuoted(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (SEPARATOR.some((r) => r.test(line))) break;
    if (ATTRIBUTION.some((r) => r.test(line))) break;
    // An attribution folded over two or three lines ("On Tue, ... Sam Patel <" / "sam@...> wrote:").
    if (/^\s*(On|Am|Le|El|Op|Em)\s/.test(line)) {
      const two = `${line} ${lines[i + 1] ?? ''}`.replace(/\s+/g, ' ');
      const three = `${two} ${lines[i + 2] ?? ''}`.replace(/\s+/g, ' ');
      if (ATTRIBUTION.some((r) => r.test(two) || r.test(three))) break;
    }
    if (OUTLOOK_FROM.test(line) && lines.slice(i + 1, i + 5).some((l) => OUTLOOK_SENT.test(l))) break;
    if (/^\s*>/.test(line)) continue;
    if (/^-- ?$/.test(line)) break;
    out.push(line);
  }
  return out.join('\n').trim();
}

// ---------------------------------------------------------------------------------------------
// Phrase tables (labels are what the evidence shows)

type Phrase = readonly [label: string, pattern: RegExp];

/** `\b` that knows letters beyond ASCII (JavaScript's does not: "congé" has no \b after the é). */
const WORD_EDGE = '(?:(?<=[\\p{L}\\p{N}_])(?![\\p{L}\\p{N}_])|(?<![\\p{L}\\p{N}_])(?=[\\p{L}\\p{N}_]))';
const unicodeCache = new WeakMap<RegExp, RegExp>();
export function U(re: RegExp): RegExp {
  let u = unicodeCache.get(re);
  if (!u) {
    u = new RegExp(re.source.replaceAll('\\b', WORD_EDGE), re.flags.includes('u') ? re.flags : `${re.flags}u`);
    unicodeCache.set(re, u);
  }
  return u;
}

const OOO_SUBJECT: readonly Phrase[] = [
  ['subject:out-of-office', /\bout of (the )?office\b|\bOOO\b/i],
  ['subject:vacation', /\b(vacation|holiday|annual leave)\b/i],
  ['subject:de-abwesend', /\babwesen(d|heit)|\burlaub\b|\bau(ß|ss)er haus\b/i],
  ['subject:fr-absence', /\babsen(ce|t|te)\b|\bcongés?\b/i],
  ['subject:es-fuera', /\bfuera de la oficina\b|\bausente\b|\bvacaciones\b/i],
  ['subject:nl-afwezig', /\bafwezig(heid)?\b|\bvakantie\b/i],
  ['subject:pt-ausencia', /\bausência\b|\bférias\b|\bfora do escritório\b/i],
];

const OOO_BODY: readonly Phrase[] = [
  ['en:out-of-office', /\bout of (the )?office\b/i],
  ['en:away', /\b(i am|i'm|i will be|i'll be)\s+(currently\s+|now\s+)?(away|out|travell?ing|on (annual |parental |maternity |paternity |sick )?(vacation|holiday|leave|pto))\b/i],
  ['en:limited-access', /\blimited (access to|acces to) (my )?e-?mail\b/i],
  ['en:back-on', /\b(i will|i'll) be back\b|\breturning (to the office )?on\b|\bback in the office\b/i],
  ['de:abwesend', /\bich bin\b[^.\n]{0,60}\b(abwesend|nicht im (büro|hause)|im urlaub|au(ß|ss)er haus)\b/i],
  ['de:zurueck', /\b(ab|am|bis)\b[^.\n]{1,30}\b(wieder (im büro|erreichbar|da)|zurück)\b/i],
  ['fr:absent', /\bje (suis|serai) (absente?|en (congés?|vacances|déplacement))\b|\bde retour le\b/i],
  ['es:fuera', /\b(estoy|estaré|me encuentro)\s+(fuera( de la oficina)?|ausente|de vacaciones)\b/i],
  ['nl:afwezig', /\bik ben\b[^.\n]{0,40}\b(afwezig|met vakantie|niet (op kantoor|aanwezig))\b/i],
  ['pt:ausente', /\b(estou|estarei)\s+(ausente|de férias|fora( do escritório)?)\b/i],
];

const LEFT: readonly Phrase[] = [
  ['en:no-longer', /\b(i am|i'm|is)\s+no longer\s+(with|at|working (at|for)|employed (at|by)|part of)\b/i],
  ['en:have-left', /\b(i have|i've|has|have)\s+left\s+(the company|[A-Z]\w+|my (role|position))/i],
  ['en:last-day', /\b(was )?my last day (at|with)\b/i],
  ['en:moved-on', /\b(i have|i've)\s+(moved on|joined|started (a new role|at))\b/i],
  ['de:nicht-mehr', /\b(ich bin|ist)\s+nicht (mehr|länger)\s+(bei|für|im unternehmen|tätig)\b|\bhabe das unternehmen verlassen\b/i],
  ['fr:quitte', /\b(j'ai|a) quitté\b|\bne (fais|fait) plus partie\b|\bne travaille plus\b/i],
  ['es:ya-no', /\bya no (trabajo|formo parte|estoy en)\b|\bdej[eé] (la empresa|de trabajar)\b/i],
  ['nl:niet-meer', /\b(ik ben|ben ik) niet meer (werkzaam|in dienst)\b|\bwerk (niet meer|niet langer) bij\b/i],
  ['pt:nao-mais', /\bnão (trabalho|faço parte) mais\b|\bdeixei a empresa\b/i],
];

const UNSUBSCRIBE: readonly Phrase[] = [
  ['en:unsubscribe', /\bunsubscribe\b/i],
  ['en:remove-me', /\b(please\s+)?remove me\b|\btake me off\b/i],
  ['en:stop', /\bstop (e-?mailing|sending|contacting)( me)?\b|\bno more e-?mails?\b|\bdo not (e-?mail|contact) me\b|\bdon't (e-?mail|contact) me\b/i],
  ['de:abmelden', /\babmelden\b|\babbestellen\b|\baustragen\b|\bkeine (weiteren )?e-?mails?\b/i],
  ['fr:desinscrire', /\bdésinscri(re|vez|ption)\b|\bdésabonn(er|ez)\b|\bne plus recevoir\b/i],
  ['es:baja', /\bdar(me)? de baja\b|\bdesuscribir(me)?\b|\bno quiero recibir\b/i],
  ['nl:afmelden', /\bafmelden\b|\buitschrijven\b/i],
  ['pt:descadastrar', /\bdescadastrar\b|\bcancelar (a )?inscrição\b|\bnão quero (mais )?receber\b/i],
];

function firstMatch(table: readonly Phrase[], text: string): string | undefined {
  return table.find(([, r]) => U(r).test(text))?.[0];
}

// ---------------------------------------------------------------------------------------------
// Dates ("back on 12 January", "until 3/12", "am 05.01.2027 zurück", "de retour le 5 janvier")

const MONTHS: Record<string, number> = {};
const monthNames: readonly (readonly string[])[] = [
  ['january', 'jan', 'januar', 'jänner', 'janvier', 'janv', 'enero', 'ene', 'januari', 'janeiro'],
  ['february', 'feb', 'februar', 'février', 'févr', 'fevrier', 'febrero', 'februari', 'fevereiro', 'fev'],
  ['march', 'mar', 'märz', 'maerz', 'mars', 'marzo', 'maart', 'mrt', 'março', 'marco'],
  ['april', 'apr', 'avril', 'avr', 'abril', 'abr'],
  ['may', 'mai', 'mayo', 'mei', 'maio'],
  ['june', 'jun', 'juni', 'juin', 'junio', 'junho'],
  ['july', 'jul', 'juli', 'juillet', 'juil', 'julio', 'julho'],
  ['august', 'aug', 'août', 'aout', 'agosto', 'augustus'],
  ['september', 'sep', 'sept', 'septembre', 'septiembre', 'setembro'],
  ['october', 'oct', 'oktober', 'okt', 'octobre', 'octubre', 'outubro'],
  ['november', 'nov', 'novembre', 'noviembre', 'novembro'],
  ['december', 'dec', 'dezember', 'dez', 'décembre', 'decembre', 'déc', 'diciembre', 'dic', 'dezembro'],
];
monthNames.forEach((names, i) => names.forEach((n) => (MONTHS[n] = i + 1)));
const MONTH_RE = Object.keys(MONTHS)
  .sort((a, b) => b.length - a.length)
  .map((m) => m.replace('.', '\\.'))
  .join('|');

/** Words that introduce a return date, in the six languages. */
const RETURN_CUE_ASCII =
  /\b(back|return(ing)?|returns|until|till|through|thru|from|zurück|wieder|bis|ab|retour|jusqu'au|jusqu’au|à partir du|regres[oa]r?[eé]?|regreso|vuelvo|volveré|hasta|terug|tot|vanaf|retorno|retornarei|volto|voltarei|até|a partir de)\b/i;
const RETURN_CUE = U(RETURN_CUE_ASCII);

interface FoundDate {
  index: number;
  year?: number;
  month: number;
  day: number;
}

function findDates(text: string, dayFirst: boolean): FoundDate[] {
  const found: FoundDate[] = [];
  const push = (index: number, day: number, month: number, year?: number) => {
    if (month >= 1 && month <= 12 && day >= 1 && day <= 31) found.push({ index, day, month, ...(year !== undefined && { year }) });
  };
  const y = (s: string | undefined) => (s === undefined ? undefined : s.length === 2 ? 2000 + Number(s) : Number(s));
  for (const m of text.matchAll(/\b(20\d\d)-(\d\d)-(\d\d)\b/g)) push(m.index, Number(m[3]), Number(m[2]), Number(m[1]));
  for (const m of text.matchAll(/\b(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})?(?!\d)/g)) push(m.index, Number(m[1]), Number(m[2]), y(m[3]));
  for (const m of text.matchAll(/\b(\d{1,2})\/(\d{1,2})(?:\/(\d{4}|\d{2}))?\b/g)) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (dayFirst || a > 12) push(m.index, a, b, y(m[3]));
    else push(m.index, b, a, y(m[3]));
  }
  const dayMonth = U(new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th|er|\\.|º)?\\s+(?:de\\s+|of\\s+)?(${MONTH_RE})\\.?(?:\\s+(?:de\\s+)?(\\d{4}))?\\b`, 'gi'));
  for (const m of text.matchAll(dayMonth)) push(m.index, Number(m[1]), MONTHS[(m[2] as string).toLowerCase()] ?? 0, y(m[3]));
  const monthDay = U(new RegExp(`\\b(${MONTH_RE})\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?:,?\\s+(\\d{4}))?`, 'gi'));
  for (const m of text.matchAll(monthDay)) push(m.index, Number(m[2]), MONTHS[(m[1] as string).toLowerCase()] ?? 0, y(m[3]));
  return found.sort((a, b) => a.index - b.index);
}

function iso(year: number, month: number, day: number): string | undefined {
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCMonth() !== month - 1) return undefined;
  return d.toISOString().slice(0, 10);
}

/**
 * The return date an out-of-office states, as YYYY-MM-DD, or undefined. Dates without a year take
 * the next occurrence on or after `ref`; a date in the past or more than a year ahead is ignored.
 * Where the text says "until X" and X is a range end, X is taken as the return date (close enough:
 * touches resume on the first slot after it). Day-first for every language except English.
 */
export function parseReturnDate(text: string, ref: Date, language: 'en' | 'other' = 'en'): string | undefined {
  const refDay = Date.UTC(ref.getUTCFullYear(), ref.getUTCMonth(), ref.getUTCDate());
  const dates = findDates(text, language !== 'en');
  // Prefer a date that follows a return cue within a few words; else the last date in the text
  // (an "away from 2 to 12 January" gives the 12th).
  const cued = dates.filter((d) => RETURN_CUE.test(text.slice(Math.max(0, d.index - 40), d.index)));
  const ordered = [...cued.reverse(), ...[...dates].reverse()];
  for (const d of ordered) {
    let year = d.year ?? ref.getUTCFullYear();
    let date = iso(year, d.month, d.day);
    if (!date) continue;
    if (d.year === undefined && Date.parse(date) < refDay) {
      year += 1;
      date = iso(year, d.month, d.day);
      if (!date) continue;
    }
    const t = Date.parse(date);
    if (t >= refDay && t <= refDay + 366 * 86_400_000) return date;
  }
  return undefined;
}

function looksEnglish(text: string): boolean {
  const words = text.toLowerCase().match(/\b(the|and|i|am|will|be|until|back|office|my|to|on|of)\b/g) ?? [];
  return words.length >= 3;
}

// ---------------------------------------------------------------------------------------------
// Where they went

const ADDRESS = /[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+/gi;
const NEW_ADDRESS_CUE =
  /(reach me at|contact me at|write to me at|email me at|e-mail me at|my new (e-?mail|address)( is)?|new address|neue (e-?mail-)?adresse|erreichen sie mich (jetzt )?unter|erreichen mich (jetzt )?unter|me joindre (à|a|sur)|nouvelle adresse|mi nuevo (correo|e-?mail)|escríbeme a|mijn nieuwe (e-?mail)?adres|bereik me (op|via)|meu novo (e-?mail|endereço)|contato em)/i;
const NEW_COMPANY =
  /\b(?:(?:i(?:'ve| have)|and) joined|i am now (?:at|with)|i'm now (?:at|with)|now working (?:at|for)|moved to|jetzt bei|nun bei|wechsel zu|rejoint|chez|ahora (?:en|trabajo en)|me he unido a|nu (?:bij|werkzaam bij)|agora (?:na|no|em))\s+((?:[A-Z][\w&.'-]*)(?:\s+[A-Z][\w&.'-]*){0,3})/;

function newEmailIn(text: string, from: string | undefined, company: string | undefined): string | undefined {
  const own = from?.toLowerCase();
  const addresses = [...text.matchAll(ADDRESS)].map((m) => ({ address: m[0].replace(/\.$/, '').toLowerCase(), index: m.index }));
  for (const a of addresses) {
    if (a.address === own) continue;
    if (U(NEW_ADDRESS_CUE).test(text.slice(Math.max(0, a.index - 50), a.index))) return a.address;
  }
  if (company) {
    const key = company.toLowerCase().replace(/[^a-z0-9]/g, '');
    const match = addresses.find((a) => a.address !== own && (a.address.split('@')[1] ?? '').replace(/[^a-z0-9]/g, '').includes(key));
    if (match) return match.address;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The classifier

const header = (m: ReplyMessage, name: string) => m.headers[name]?.trim();

function automaticEvidence(m: ReplyMessage): ReplyEvidence | undefined {
  const auto = header(m, 'auto-submitted');
  if (auto && !/^no\b/i.test(auto)) return { kind: 'header', detail: `Auto-Submitted: ${auto.split(';')[0]?.trim().toLowerCase().slice(0, 40)}` };
  const precedence = header(m, 'precedence')?.toLowerCase();
  if (precedence && /^(bulk|junk|list|auto_reply)\b/.test(precedence)) return { kind: 'header', detail: `Precedence: ${precedence.split(/\s/)[0]}` };
  if (header(m, 'x-autoreply') !== undefined) return { kind: 'header', detail: 'X-Autoreply' };
  if (header(m, 'x-autorespond') !== undefined) return { kind: 'header', detail: 'X-Autorespond' };
  if (header(m, 'x-autogenerated') !== undefined) return { kind: 'header', detail: 'X-AutoGenerated' };
  const local = (m.from ?? '').toLowerCase().split('@')[0] ?? '';
  if (/^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)$/.test(local)) return { kind: 'sender', detail: `sender ${local}` };
  if (header(m, 'list-id') !== undefined) return { kind: 'header', detail: 'List-Id' };
  const returnPath = header(m, 'return-path');
  if (returnPath !== undefined && /^<?\s*>?$/.test(returnPath)) return { kind: 'header', detail: 'Return-Path: <> (null sender)' };
  return undefined;
}

function bounceEvidence(m: ReplyMessage, text: string): ReplyEvidence | undefined {
  if (m.contentType?.toLowerCase() === 'multipart/report' && m.reportType?.toLowerCase() === 'delivery-status') {
    return { kind: 'structure', detail: 'multipart/report; report-type=delivery-status' };
  }
  if (m.partTypes?.some((t) => t.toLowerCase() === 'message/delivery-status')) return { kind: 'structure', detail: 'message/delivery-status part' };
  const dsnFields = [/^Final-Recipient:/im, /^Action:\s*(failed|delayed)/im, /^Status:\s*[45]\.\d{1,3}\.\d{1,3}/im, /^Diagnostic-Code:/im];
  if (dsnFields.filter((r) => r.test(text)).length >= 2) return { kind: 'structure', detail: 'DSN fields in the body' };
  const local = (m.from ?? '').toLowerCase().split('@')[0] ?? '';
  if (/^(mailer-daemon|postmaster)$/.test(local) && /undeliver|delivery (status notification|has failed|failure)|returned mail|failure notice|unzustellbar|non remis|no se puede entregar/i.test(m.subject)) {
    return { kind: 'sender', detail: `sender ${local} with a delivery-failure subject` };
  }
  return undefined;
}

export function classifyReply(m: ReplyMessage): ReplyClassification {
  const newText = stripQuoted(m.text);
  const base = { newText };
  if (header(m, 'x-cultivate-forward') !== undefined) return { ...base, class: 'automatic', evidence: { kind: 'header', detail: 'X-Cultivate-Forward (our own forward)' } };

  const bounce = bounceEvidence(m, m.text);
  if (bounce) return { ...base, class: 'bounce', evidence: bounce };

  const subject = m.subject ?? '';
  const left = firstMatch(LEFT, newText);
  if (left) {
    const company = U(NEW_COMPANY).exec(newText)?.[1]?.replace(/[.,;]+$/, '');
    const newEmail = newEmailIn(newText, m.from, company);
    return { ...base, class: 'left-company', evidence: { kind: 'phrase', detail: left }, ...(company && { newCompany: company }), ...(newEmail && { newEmail }) };
  }

  const automatic = automaticEvidence(m);
  const oooSubject = firstMatch(OOO_SUBJECT, subject);
  const oooBody = firstMatch(OOO_BODY, newText);
  const autoSubject = /^(automatic reply|auto(matic)?[- ]?reply|autoreply|automatische antwort|réponse automatique|respuesta automática|automatisch antwoord|resposta automática)\b/i.test(subject);
  const ooo = oooBody ?? oooSubject ?? (autoSubject && automatic ? 'subject:automatic-reply' : undefined);
  if (ooo && (oooBody || oooSubject || automatic)) {
    const ref = m.date && Number.isFinite(m.date.getTime()) ? m.date : new Date(0);
    const returnDate = parseReturnDate(`${subject}\n${newText}`, ref, looksEnglish(newText) ? 'en' : 'other');
    return { ...base, class: 'out-of-office', evidence: { kind: 'phrase', detail: ooo }, ...(returnDate && { returnDate }) };
  }
  if (automatic) return { ...base, class: 'automatic', evidence: automatic };

  const unsubscribe = firstMatch(UNSUBSCRIBE, `${subject}\n${newText}`);
  if (unsubscribe && newText.length < 2000) return { ...base, class: 'unsubscribe', evidence: { kind: 'phrase', detail: unsubscribe } };

  return { ...base, class: 'human', evidence: { kind: 'default', detail: 'no automatic header, no known phrase' } };
}

// ---------------------------------------------------------------------------------------------
// Missed me

export interface SkipWeekRule {
  /** Weekly e-mails before the skip (cadence.yaml weekly.count). */
  weeklyCount: number;
  /** Weeks skipped after them (cadence.yaml skipWeeks). */
  skipWeeks: number;
}

const WEEK_MS = 7 * 86_400_000;

/**
 * A human reply inside the skipped week: the last weekly e-mail has gone (emailsSent equals the
 * weekly count), the next one has not, and the reply arrives after the skipped e-mail's slot (one
 * week after the last one). A reply in the days right after the 8th e-mail answers that e-mail; it
 * is "missed me" only once the weekly e-mail it would have been is missing.
 */
export function isMissedMe(history: { emailsSent: number; lastEmailAt?: string }, at: Date, rule: SkipWeekRule | undefined): boolean {
  if (!rule || rule.weeklyCount <= 0 || rule.skipWeeks <= 0) return false;
  if (history.emailsSent !== rule.weeklyCount || !history.lastEmailAt) return false;
  const last = Date.parse(history.lastEmailAt);
  if (!Number.isFinite(last)) return false;
  const t = at.getTime();
  return t >= last + WEEK_MS - 12 * 3_600_000 && t < last + (1 + rule.skipWeeks) * WEEK_MS;
}

// ---------------------------------------------------------------------------------------------
// Out of office: pause

const DAY_MS = 86_400_000;

/** Until when an out-of-office pauses touches: the start of the stated return day (UTC), else a week. */
export function pauseUntil(returnDate: string | undefined, receivedAt: Date): Date {
  const stated = returnDate ? Date.parse(`${returnDate}T00:00:00Z`) : Number.NaN;
  if (Number.isFinite(stated) && stated > receivedAt.getTime()) return new Date(stated);
  return new Date(receivedAt.getTime() + 7 * DAY_MS);
}

/**
 * Pause touches until `until`: the state remembers `pausedUntil` (every planner plans from it, see
 * `planningNow`), and a next touch due before it is planned again. Idempotent on `eventId`.
 */
export function pauseTouches(
  state: RelationshipState,
  until: Date,
  eventId: string,
  now: Date,
  planner: Planner,
  evidence: string,
): { state: RelationshipState; timeline: TimelineEntry[] } | undefined {
  if (state.applied.includes(eventId)) return undefined;
  const untilIso = until.toISOString();
  const pausedUntil = state.pausedUntil && state.pausedUntil > untilIso ? state.pausedUntil : untilIso;
  let next: RelationshipState = { ...state, pausedUntil, applied: [...state.applied, eventId].slice(-APPLIED_EVENT_MEMORY), updatedAt: now.toISOString() };
  const t = state.nextTouch;
  if (t && t.at < pausedUntil) {
    const planVersion = state.planVersion + 1;
    next = { ...next, planVersion, nextTouch: planner.planNext({ ...next, nextTouch: null, planVersion }, { now }) };
  }
  const summary = `Out-of-office reply: touches paused until ${pausedUntil.slice(0, 10)}`;
  return { state: next, timeline: [{ at: now.toISOString(), eventId, type: 'reply-out-of-office', summary, detail: { pausedUntil, evidence } }] };
}
