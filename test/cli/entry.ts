/** Test-only entry: `npx tsx test/cli/entry.ts <args>` runs the sales-ops commands as the CLI does. */
import { runConfigCommands } from '../../functions/cli/index.ts';

const code = await runConfigCommands(process.argv.slice(2));
if (code === undefined) {
  process.stderr.write(`not a config command: ${process.argv.slice(2).join(' ')}\n`);
  process.exitCode = 2;
} else process.exitCode = code;
