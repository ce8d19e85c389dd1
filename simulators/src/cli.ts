/**
 * Stand-alone launcher: `npx tsx simulators/src/cli.ts [options]` (same as `fridgesync sim`).
 */
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
// mqtt.js reconnect timers or keep-alive sockets must not keep a finished run alive.
setTimeout(() => process.exit(), 500).unref();
