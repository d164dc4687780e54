#!/usr/bin/env node
/**
 * Completes package-lock.json with the platform-specific optional packages that this workplace's
 * npm registry mirror does not serve (npm install then leaves them out of the lock, and `npm ci`
 * refuses the lock as out of sync). Each entry gets the os/cpu/libc its name encodes, so `npm ci`
 * skips it on every other platform without fetching it. Run after `npm install`:
 *
 *   node scripts/complete-lockfile.mjs
 *
 * Only packages that follow the <scope>/<tool>-<os>-<cpu>[-<abi>] naming (rollup's) are added.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;

const OS = ['android', 'darwin', 'freebsd', 'linux', 'openbsd', 'openharmony', 'win32'];
const CPU = ['arm', 'arm64', 'x64', 'ia32', 'loong64', 'ppc64', 'riscv64', 's390x'];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p));
  if (!os || !cpu) return undefined;
  const abi = parts.slice(parts.indexOf(cpu) + 1).join('-');
  const libc = os === 'linux' ? (abi.startsWith('musl') ? 'musl' : abi.startsWith('gnu') ? 'glibc' : undefined) : undefined;
  return { os: [os], cpu: [cpu], ...(libc && { libc: [libc] }) };
}

let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    const nested = `${path}/node_modules/${dep}`;
    if (packages[key] || packages[nested]) continue;
    const platform = platformOf(dep);
    if (!platform) continue;
    packages[key] = { version, ...platform, ...(entry.dev && { dev: true }), optional: true };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
