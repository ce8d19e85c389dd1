#!/usr/bin/env -S node --max-semi-space-size=32
// The `fridgesync` command. It runs fridgesync.ts in this very process (tsx registered as a loader,
// resolved next to this file so it works from any working directory): one process, so a signal
// sent to it reaches the program that holds the ports and the store, and its exit status is the
// program's. The shebang gives Node a larger young generation (fewer scavenges under ingest load;
// docs/operations.md "Runtime"); `node bin/fridgesync.js` works too, without that flag.
import { register } from 'tsx/esm/api';

register();
await import('../fridgesync.ts');
