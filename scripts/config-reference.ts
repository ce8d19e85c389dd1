/**
 * Renders a configuration reference from a zod schema and the TSDoc comments in its source file,
 * so the reference cannot drift from the code. Structure, types and defaults come from the schema
 * (`z.toJSONSchema`); descriptions come from the comment above each property in the source, found
 * with the TypeScript compiler API by following the schema's object literals and the local
 * `const` schemas they reference.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { z } from 'zod';

type Json = { [k: string]: unknown };

/** Comments by dotted path (`http.port`), array items as `name[]`. */
export function commentsFromSource(file: string, rootName: string): Map<string, string> {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const consts = new Map<string, ts.Expression>();
  sf.forEachChild((n) => {
    if (ts.isVariableStatement(n)) for (const d of n.declarationList.declarations) if (ts.isIdentifier(d.name) && d.initializer) consts.set(d.name.text, d.initializer);
  });
  const out = new Map<string, string>();
  const docOf = (node: ts.Node): string => {
    const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
    const last = ranges.filter((r) => text.slice(r.pos, r.pos + 3) === '/**').pop();
    if (!last) return '';
    return text
      .slice(last.pos + 3, last.end - 2)
      .split('\n')
      .map((l) => l.replace(/^\s*\*\s?/, '').trim())
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
  };
  const visit = (expr: ts.Node, prefix: string, seen: Set<string>): void => {
    const walk = (n: ts.Node): void => {
      if (ts.isObjectLiteralExpression(n) && ts.isCallExpression(n.parent)) {
        const callee = n.parent.expression.getText(sf);
        if (/\b(strictObject|object|looseObject|extend)$/.test(callee)) {
          for (const p of n.properties) {
            if (!ts.isPropertyAssignment(p)) continue;
            const name = p.name.getText(sf).replace(/^['"]|['"]$/g, '');
            const path = prefix ? `${prefix}.${name}` : name;
            const doc = docOf(p);
            if (doc) out.set(path, doc);
            const isArray = /z\.array\(/.test(p.initializer.getText(sf).slice(0, 12));
            visit(p.initializer, isArray ? `${path}[]` : path, seen);
          }
          return;
        }
      }
      if (ts.isIdentifier(n) && consts.has(n.text) && !seen.has(n.text) && !(ts.isPropertyAccessExpression(n.parent) && n.parent.name === n)) {
        const next = new Set(seen).add(n.text);
        visit(consts.get(n.text)!, prefix, next);
        return;
      }
      n.forEachChild(walk);
    };
    walk(expr);
  };
  const root = consts.get(rootName);
  if (root === undefined) throw new Error(`${rootName} not found in ${file}`);
  visit(root, '', new Set([rootName]));
  return out;
}

function typeOf(s: Json): string {
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((e) => JSON.stringify(e)).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) return ((s.anyOf ?? s.oneOf) as Json[]).map(typeOf).join(' \\| ');
  if (s.type === 'array') return `array of ${typeOf((s.items ?? {}) as Json)}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map of ${typeOf(s.additionalProperties as Json)}`;
  return String(s.type ?? 'any');
}

/** Markdown rows `| path | env | type | default | description |` for every option. */
export function referenceRows(schema: z.ZodType, comments: Map<string, string>, envPrefix = 'FRIDGESYNC_'): string[] {
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  const rows: string[] = [];
  const env = (path: string) => envPrefix + path.split('.').map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__');
  const walk = (s: Json, path: string, inArray: boolean): void => {
    const props = s.properties as Record<string, Json> | undefined;
    const isObject = s.type === 'object' && props !== undefined;
    if (path !== '') {
      const def = s.default === undefined ? (Array.isArray((s as Json).required) ? '' : '') : `\`${JSON.stringify(s.default)}\``;
      const showDefault = isObject && JSON.stringify(s.default) === '{}' ? '' : def;
      const desc = (comments.get(path) ?? '').replace(/\|/g, '\\|');
      const envName = inArray ? '(in list)' : `\`${env(path)}\``;
      if (!isObject || desc) rows.push(`| \`${path}\` | ${envName} | ${isObject ? 'object' : typeOf(s)} | ${showDefault} | ${desc} |`);
    }
    if (isObject) for (const [k, v] of Object.entries(props)) walk(v, path ? `${path}.${k}` : k, inArray);
    if (s.type === 'array' && s.items && typeof s.items === 'object') {
      const items = s.items as Json;
      const variants = (items.anyOf ?? items.oneOf) as Json[] | undefined;
      for (const v of variants ?? [items]) if (v.properties) for (const [k, c] of Object.entries(v.properties as Record<string, Json>)) walk(c, `${path}[].${k}`, true);
    }
  };
  walk(js, '', false);
  return [...new Set(rows)];
}

/** A whole reference section. */
export function configReference(title: string, intro: string, schema: z.ZodType, sourceFile: string, rootName: string): string {
  const rows = referenceRows(schema, commentsFromSource(sourceFile, rootName));
  return [`## ${title}`, '', intro, '', '| option | environment | type | default | description |', '|---|---|---|---|---|', ...rows, ''].join('\n');
}
