/**
 * Runs a central in its own process for the ingest benchmark (a gateway and its central never
 * share a CPU in production). Reads the config as JSON from argv[2], prints `READY <url>`.
 */
import { buildApp, CentralConfigSchema } from '@fridgesync/server';

const central = await buildApp(CentralConfigSchema.parse(JSON.parse(process.argv[2]!)));
const url = await central.listen();
process.stdout.write(`READY ${url}\n`);
process.on('SIGTERM', () => {
  void central.close().then(() => process.exit(0));
});
