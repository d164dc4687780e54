/** The local SES v2 server (aws-ses-v2-local), started in-process on 127.0.0.1 and a free port. */
import type { Server } from 'node:http';
import sesLocalModule from 'aws-ses-v2-local';

type Start = typeof sesLocalModule.default;
// A CommonJS module: Node's ESM loader hands over module.exports, bundlers and vitest the default itself.
const start: Start = (typeof sesLocalModule === 'function' ? sesLocalModule : sesLocalModule.default) as Start;

export async function startSesLocal(): Promise<{ server: Server; endpoint: string }> {
  const server = await start({ host: '127.0.0.1', port: 0 });
  return { server, endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}
