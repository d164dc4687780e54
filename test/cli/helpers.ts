/** Helpers for the CLI tests: run the commands in-process or as a process, and edit temp config copies. */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { runConfigCommands } from '../../functions/cli/index.ts';

export interface Run {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/** Runs `cultivate <args>` in this process, capturing what it prints. */
export async function cli(args: string[], now?: Date): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runConfigCommands(args, {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    env: {},
    ...(now && { now: () => now }),
  });
  return { code, stdout, stderr };
}

/** Runs `npx tsx test/cli/entry.ts <args>` as a separate process (the real stdout, stderr and exit code). */
export async function cliProcess(args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)('npx', ['tsx', 'test/cli/entry.ts', ...args], { cwd: process.cwd(), env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A temp copy of the shipped config/ folder; `edit` replaces text in one of its files. */
export class TempConfig {
  readonly dir = mkdtempSync(join(tmpdir(), 'cultivate-config-'));

  constructor() {
    cpSync('config', this.dir, { recursive: true });
  }

  path(file: string): string {
    return join(this.dir, file);
  }

  text(file: string): string {
    return readFileSync(this.path(file), 'utf8');
  }

  /** Replaces the first `from` in `file` (the test fails if it is not there: the shipped file changed). */
  edit(file: string, from: string, to: string): this {
    const text = this.text(file);
    expect(text, `${file} should contain ${JSON.stringify(from)}`).toContain(from);
    writeFileSync(this.path(file), text.replace(from, to));
    return this;
  }

  append(file: string, text: string): this {
    writeFileSync(this.path(file), this.text(file) + text);
    return this;
  }

  /**
   * `file:line:col` of the `occurrence`-th (1-based) match of `needle` in `file`, with `offset`
   * characters added: where a problem about that text must be reported.
   */
  pos(file: string, needle: string, { occurrence = 1, offset = 0 } = {}): string {
    const text = this.text(file);
    let at = -1;
    for (let i = 0; i < occurrence; i++) {
      at = text.indexOf(needle, at + 1);
      expect(at, `${file} should contain ${JSON.stringify(needle)} ${occurrence} times`).toBeGreaterThanOrEqual(0);
    }
    at += offset;
    const before = text.slice(0, at).split('\n');
    return `${this.path(file)}:${before.length}:${(before.at(-1) ?? '').length + 1}`;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
