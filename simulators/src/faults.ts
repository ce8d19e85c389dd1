/**
 * Fault injection settings (`--faults`) and the hooks through which the simulator cuts venue
 * links and kills gateways. The simulator cannot do either itself (it only talks to the system
 * over the network), so the caller provides them: the demo orchestrator passes callbacks
 * ({@link FaultHooks}); the CLI runs a command (`--fault-hook`, see {@link commandFaultHooks}).
 *
 * Spec grammar: comma-separated `name[=value]`:
 * - `duplicate[=p]`   send an inventory/pickup message twice with probability p (default 0.05)
 * - `reorder[=p]`     hold a message back and send it after the next one (default 0.05)
 * - `reboot[=p]`      a fridge reboots at a snapshot tick with probability p (default 0.01)
 * - `forget-boot[=p]` share of reboots whose firmware forgets the boot counter (default 0.25 with `reboot`)
 * - `link-cut[=E/F]`  every E cut one venue's link to central for F, venues in turn (default 60s/15s)
 * - `gateway-kill[=E/F]` every E kill one venue's gateway, restart it after F (default 90s/10s)
 */
import { spawn } from 'node:child_process';
import { parseDuration } from './schedule.ts';

/** Periodic venue fault: every `everyMs` one venue (in turn) is affected for `forMs`. */
export interface PeriodicFault {
  everyMs: number;
  forMs: number;
}

/** Parsed `--faults`. All probabilities 0 and no periodic faults = no faults. */
export interface FaultSettings {
  duplicate: number;
  reorder: number;
  reboot: number;
  forgetBoot: number;
  linkCut?: PeriodicFault;
  gatewayKill?: PeriodicFault;
}

/** Settings with every fault off. */
export const NO_FAULTS: FaultSettings = Object.freeze({ duplicate: 0, reorder: 0, reboot: 0, forgetBoot: 0 });

const FAULT_NAMES = ['duplicate', 'reorder', 'reboot', 'forget-boot', 'link-cut', 'gateway-kill'] as const;

function probability(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const p = Number(v);
  if (!Number.isFinite(p) || p < 0 || p > 1) throw new RangeError(`--faults ${name}=${v}: a probability between 0 and 1 is expected`);
  return p;
}

function periodic(name: string, v: string | undefined, dflt: PeriodicFault): PeriodicFault {
  if (v === undefined) return dflt;
  const [e, f] = v.split('/');
  if (e === undefined || f === undefined) throw new RangeError(`--faults ${name}=${v}: expected EVERY/FOR, e.g. ${name}=60s/15s`);
  const p = { everyMs: parseDuration(e), forMs: parseDuration(f) };
  if (p.forMs >= p.everyMs) throw new RangeError(`--faults ${name}=${v}: the fault must last less than its period`);
  return p;
}

/** Parses a `--faults` spec; throws a `RangeError` naming the bad part. */
export function parseFaults(spec: string): FaultSettings {
  const out: FaultSettings = { ...NO_FAULTS };
  let forget: number | undefined;
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const [name, value] = part.split('=', 2) as [string, string | undefined];
    switch (name) {
      case 'duplicate': out.duplicate = probability(name, value, 0.05); break;
      case 'reorder': out.reorder = probability(name, value, 0.05); break;
      case 'reboot': out.reboot = probability(name, value, 0.01); break;
      case 'forget-boot': forget = probability(name, value, 0.25); break;
      case 'link-cut': out.linkCut = periodic(name, value, { everyMs: 60_000, forMs: 15_000 }); break;
      case 'gateway-kill': out.gatewayKill = periodic(name, value, { everyMs: 90_000, forMs: 10_000 }); break;
      default: throw new RangeError(`--faults: unknown fault "${name}" (known: ${FAULT_NAMES.join(', ')})`);
    }
  }
  if (forget !== undefined && out.reboot === 0) out.reboot = 0.01;
  out.forgetBoot = forget ?? (out.reboot > 0 ? 0.25 : 0);
  return out;
}

/**
 * What the caller does when a venue fault starts or ends. Each hook gets the venue id and may be
 * async; a throw is counted (`faultHookErrors`) and the run goes on.
 */
export interface FaultHooks {
  /** Cut the venue's link to central (e.g. stop a proxy, drop packets). */
  cutLink?(venueId: string): void | Promise<void>;
  restoreLink?(venueId: string): void | Promise<void>;
  /** Kill the venue's gateway (e.g. `kill -9`); its fridges lose their broker. */
  killGateway?(venueId: string): void | Promise<void>;
  /** Start it again (on the same data directory). */
  restartGateway?(venueId: string): void | Promise<void>;
}

/** The action names passed to a `--fault-hook` command. */
export type FaultAction = 'link-cut' | 'link-restore' | 'gateway-kill' | 'gateway-restart';

/**
 * Hooks that run `command ACTION VENUE_ID` through `/bin/sh` (also exported as the environment
 * variables `FRIDGESYNC_FAULT` and `FRIDGESYNC_VENUE`). A non-zero exit or a run longer than
 * `timeoutMs` (default 30,000) is an error.
 */
export function commandFaultHooks(command: string, env: Record<string, string | undefined>, timeoutMs = 30_000): FaultHooks {
  const run = (action: FaultAction, venueId: string) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', `${command} "$@"`, 'fault-hook', action, venueId], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...env, FRIDGESYNC_FAULT: action, FRIDGESYNC_VENUE: venueId },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 2_000) stderr += d.toString();
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`fault hook "${action} ${venueId}" exited with ${code ?? signal}: ${stderr.trim().slice(0, 300)}`));
      });
    });
  return {
    cutLink: (v) => run('link-cut', v),
    restoreLink: (v) => run('link-restore', v),
    killGateway: (v) => run('gateway-kill', v),
    restartGateway: (v) => run('gateway-restart', v),
  };
}
