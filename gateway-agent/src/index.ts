/**
 * `@fridgesync/gateway-agent`: the venue gateway agent. `createAgent` starts one from a validated
 * config (tests, the demo); `./main` is the command line (`fridgesync gateway …`).
 */
export { createAgent, AGENT_VERSION, type Agent, type AgentDeps, type AgentStatus } from './agent.ts';
export { GatewayConfigSchema, type GatewayConfig, type GatewayConfigInput } from './config-schema.ts';
export { hashSecret, verifySecret } from './fridge-secrets.ts';
export { MemoryStore } from './memory-store.ts';
export { openLevelStore } from './level-store.ts';
export type { ReplicaStore, StoreMeta } from './replica-store.ts';
export { runDoctor, formatDoctor, type DoctorCheck } from './doctor.ts';
