/** The local clock: starts at CULTIVATE_CLOCK_START (default now), runs at real speed, moves forward on request. */
import type { Clock } from '#ports/ports';

export class LocalClock implements Clock {
  private offsetMs: number;

  constructor(start?: Date) {
    this.offsetMs = start ? start.getTime() - Date.now() : 0;
  }

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** Moves forward only: time never runs backwards for the pipeline. */
  advanceTo(t: Date): void {
    const delta = t.getTime() - this.now().getTime();
    if (delta > 0) this.offsetMs += delta;
  }
}

/**
 * Adds an ISO 8601 duration as used by POST /local/clock: P7D, PT36H, P1W, P1M, P1DT2H30M.
 * Years and months are calendar steps (UTC); the rest are fixed lengths. Undefined when malformed.
 */
export function addDuration(from: Date, iso: string): Date | undefined {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(iso);
  if (!m || iso === 'P' || iso.endsWith('T')) return undefined;
  const [, y, mo, w, d, h, min, s] = m;
  const t = new Date(from.getTime());
  if (y || mo) t.setUTCMonth(t.getUTCMonth() + Number(y ?? 0) * 12 + Number(mo ?? 0));
  const ms = ((Number(w ?? 0) * 7 + Number(d ?? 0)) * 24 * 3600 + Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(s ?? 0)) * 1000;
  const target = new Date(t.getTime() + ms);
  // Beyond what a Date can hold (P99999999999D): malformed for our purpose, not a crash.
  return Number.isFinite(target.getTime()) ? target : undefined;
}
