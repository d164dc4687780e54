import { synthStack } from './synth.ts';
for (let i = 0; i < 3; i++) {
  const t = Date.now();
  try { synthStack(); } catch (e) { console.log(String(e).slice(0, 100)); }
  console.log('synth', Date.now() - t);
}
