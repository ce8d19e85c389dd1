/**
 * Dependency direction and cycle check (README "How it fits together"): fails when `shared` imports another
 * package of ours, when `server` and `gateway-agent` import each other, when `simulators` import
 * anything of ours but `shared`, when the dashboard page (`server/dashboard/*.js`) imports anything but
 * its own modules and its generated types (`types.d.ts`, from the shared view schemas), or when any
 * import cycle exists among our source files.
 * Usage: `tsx scripts/check-deps.ts` (exit 1 on any violation, every violation listed).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const PACKAGES = ['shared', 'gateway-agent', 'server', 'simulators'] as const;
type Pkg = (typeof PACKAGES)[number];
const ALLOWED: Record<Pkg, Pkg[]> = { shared: [], 'gateway-agent': ['shared'], server: ['shared'], simulators: ['shared'] };

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const problems: string[] = [];
const graph = new Map<string, string[]>();

for (const pkg of PACKAGES) {
  const dir = join(root, pkg);
  for (const file of walk(dir)) {
    const src = readFileSync(file, 'utf8');
    const edges: string[] = [];
    for (const m of src.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      const rel = relative(root, file);
      const ours = /^@fridgesync\/([a-z-]+)/.exec(spec);
      // The test harness (shared/test/support/harness.ts) runs on vitest: tests only, never src/.
      if (spec === '@fridgesync/shared/test-harness' && !rel.split('/').includes('test')) problems.push(`${rel}: only tests may import ${spec}`);
      if (ours) {
        const target = ours[1] as Pkg;
        if (target !== pkg && !ALLOWED[pkg].includes(target)) problems.push(`${rel}: ${pkg} must not import ${spec}`);
        continue;
      }
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        const targetPkg = relative(root, target).split('/')[0];
        if (targetPkg !== pkg) problems.push(`${rel}: relative import ${spec} leaves package ${pkg}`);
        edges.push(target);
      }
    }
    graph.set(file, edges);
  }
}

// The dashboard is static files served as they are: it may import its own modules (siblings) and,
// in JSDoc types, the declarations generated from the shared view schemas; nothing else.
const dashboard = join(root, 'server', 'dashboard');
const DASHBOARD_TYPES = './types.js';
for (const name of readdirSync(dashboard)) {
  if (!name.endsWith('.js')) continue;
  const file = join(dashboard, name);
  const rel = relative(root, file);
  const edges: string[] = [];
  for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const sibling = /^\.\/[a-z-]+\.js$/.test(m[1] ?? m[2]!);
    // m[1]: a module import, which the browser loads; m[2]: `import('…')`, in JSDoc a type reference.
    if (m[1] !== undefined && sibling && m[1] !== DASHBOARD_TYPES) edges.push(resolve(dashboard, m[1]));
    else if (m[2] === undefined || !sibling) problems.push(`${rel}: the dashboard must not import ${m[1] ?? m[2]} (only its own modules, and ${DASHBOARD_TYPES} in JSDoc types)`);
  }
  graph.set(file, edges);
}

// Tarjan's strongly connected components: any component with more than one file is a cycle.
let counter = 0;
const idx = new Map<string, number>();
const low = new Map<string, number>();
const stack: string[] = [];
const on = new Set<string>();
function strong(v: string): void {
  idx.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  on.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v)!, low.get(w)!));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
  }
  if (low.get(v) === idx.get(v)) {
    const comp: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      on.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) problems.push(`import cycle: ${comp.map((f) => relative(root, f)).join(' -> ')}`);
  }
}
for (const v of graph.keys()) if (!idx.has(v)) strong(v);

if (problems.length > 0) {
  console.error(`dependency check failed (${problems.length}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`dependency check passed: ${graph.size} files, no cycles, directions respected`);
