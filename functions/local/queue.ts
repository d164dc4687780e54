/**
 * The local stand-in for an asynchronous path (EventBridge rule -> Lambda, SQS -> Lambda):
 * bounded concurrency, retries like Lambda's async invoke, then a dead-letter list you can see.
 */
import type { Logger } from '#ports/ports';

export interface DeadLetter {
  queue: string;
  at: string;
  error: string;
  message: unknown;
}

interface Job<T> {
  message: T;
  attempts: number;
}

export class LocalQueue<T> {
  private readonly pending: Job<T>[] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  readonly deadLetters: DeadLetter[] = [];

  constructor(
    readonly name: string,
    private readonly handler: (message: T) => Promise<unknown>,
    private readonly logger: Logger,
    private readonly opts: { concurrency: number; maxAttempts: number; now: () => Date } = { concurrency: 8, maxAttempts: 3, now: () => new Date() },
  ) {}

  send(message: T): void {
    this.pending.push({ message, attempts: 0 });
    this.pump();
  }

  get depth(): number {
    return this.pending.length + this.inFlight;
  }

  /** Resolves when nothing is pending or running. */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  private pump(): void {
    while (this.inFlight < this.opts.concurrency && this.pending.length > 0) {
      const job = this.pending.shift() as Job<T>;
      this.inFlight++;
      void this.run(job);
    }
    if (this.depth === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(job: Job<T>): Promise<void> {
    try {
      await this.handler(job.message);
    } catch (err) {
      job.attempts++;
      const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      if (job.attempts < this.opts.maxAttempts) {
        this.logger.warn('async handler failed; retrying', { queue: this.name, attempt: job.attempts, error });
        this.pending.push(job);
      } else {
        this.logger.error('async handler failed; sent to the dead-letter list', { queue: this.name, error });
        this.deadLetters.push({ queue: this.name, at: this.opts.now().toISOString(), error, message: job.message });
      }
    } finally {
      this.inFlight--;
      this.pump();
    }
  }
}
