/** Promotion imports: CSV with bad rows (row numbers), dry run, atomic apply, idempotent re-upload, JSON, listing. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCsv } from '../../src/promotion-rows.ts';
import { bearer, startCentral, stockViaGateway, TOKENS, type TestCentral } from '../helpers/central.ts';

let t: TestCentral;
beforeEach(async () => {
  t = await startCentral();
});
afterEach(async () => t.close());

const from = new Date(Date.now() - 60_000).toISOString();
const until = new Date(Date.now() + 3_600_000).toISOString();
const csv = (rows: string[]) => ['venueId,mealId,fridgeId,priceCents,from,until', ...rows].join('\r\n') + '\r\n';
const upload = (body: string, query = '', contentType = 'text/csv', token: string = TOKENS.admin) =>
  t.central.app.inject({ method: 'POST', url: `/v1/promotions${query}`, headers: { ...bearer(token), 'content-type': contentType }, payload: body });
const list = async () => (await t.central.app.inject({ url: '/v1/promotions', headers: bearer(TOKENS.viewer) })).json().promotions;

describe('POST /v1/promotions (CSV)', () => {
  it('reports every bad row with its line number and applies nothing', async () => {
    const body = csv([
      `v1,m1,,500,${from},${until}`,
      `v1,m9,,500,${from},${until}`, // unknown meal
      `v1,m1,f1,-3,${from},${until}`, // negative price
      `nope,m1,,500,${from},${until}`, // unknown venue
      `v1,m2,f1,400,${until},${from}`, // until before from
      `v1,m2,zz,400,${from},${until}`, // unknown fridge
      `v1,m2,,abc,not-a-date,${until}`,
    ]);
    const r = await upload(body);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    const rows = r.json().errors.map((e: { row: number }) => e.row);
    expect([...new Set(rows)]).toEqual([3, 4, 5, 6, 7, 8]);
    expect(r.json().errors.find((e: { row: number }) => e.row === 3).message).toMatch(/unknown meal/);
    expect(await list()).toEqual([]);
  });

  it('dry run shows what would change without writing; apply is atomic with an import id; re-upload changes nothing', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 3 });
    const body = csv([`v1,m1,f1,450,${from},${until}`, `"v2",m2,,300,${from},${until}`]);
    const dry = await upload(body, '?dryRun=true');
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true, valid: true, applied: 0, errors: [] });
    expect(dry.json().rows.map((x: { action: string; row: number }) => [x.row, x.action])).toEqual([
      [2, 'create'],
      [3, 'create'],
    ]);
    expect(await list()).toEqual([]);
    const r = await upload(body);
    expect(r.statusCode).toBe(201);
    expect(r.json().importId).toMatch(/^imp-[0-9a-f]{16}$/);
    expect(r.json().applied).toBe(2);
    const promos = await list();
    expect(promos).toHaveLength(2);
    expect(promos.every((p: { importId: string }) => p.importId === r.json().importId)).toBe(true);
    // The catalog shows the promotion price.
    const cat = (await t.central.app.inject({ url: '/v1/catalog?city=Berlin', headers: bearer(TOKENS.app) })).json();
    expect(cat.venues[0].fridges[0].meals[0]).toMatchObject({ mealId: 'm1', priceCents: 450 });
    const again = await upload(body);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ importId: r.json().importId, applied: 0 });
    expect(again.json().rows.every((x: { action: string }) => x.action === 'unchanged')).toBe(true);
  });

  it('rejects a CSV without the required header', async () => {
    const r = await upload('a,b,c\n1,2,3\n');
    expect(r.statusCode).toBe(400);
    expect(r.json().errors[0]).toMatchObject({ row: 1 });
  });
});

describe('POST /v1/promotions (JSON) and roles', () => {
  it('accepts JSON rows and reports JSON row numbers', async () => {
    const ok = await t.central.app.inject({ method: 'POST', url: '/v1/promotions', headers: bearer(TOKENS.admin), payload: [{ venueId: 'v1', mealId: 'm2', priceCents: 100, from, until }] });
    expect(ok.statusCode).toBe(201);
    const bad = await t.central.app.inject({ method: 'POST', url: '/v1/promotions', headers: bearer(TOKENS.admin), payload: { rows: [{ venueId: 'v1', mealId: 'm2', priceCents: 100, from, until }, { venueId: 'v1' }] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.every((e: { row: number }) => e.row === 2)).toBe(true);
    expect((await list()).length).toBe(1);
    const active = await t.central.app.inject({ url: '/v1/promotions?active=true&venueId=v1', headers: bearer(TOKENS.app) });
    expect(active.json().promotions).toHaveLength(1);
  });

  it('only admins import', async () => {
    expect((await upload(csv([]), '', 'text/csv', TOKENS.kitchen)).json().code).toBe('FORBIDDEN');
    expect((await t.central.app.inject({ method: 'POST', url: '/v1/promotions', payload: [] })).statusCode).toBe(401);
  });
});

describe('readCsv', () => {
  const cells = (text: string) => readCsv(text).records.map((r) => r.cells);

  it('handles quotes, escaped quotes, semicolons and CRLF', () => {
    expect(cells('a,"b,c","d ""e"""\r\n1,2,3')).toEqual([
      ['a', 'b,c', 'd "e"'],
      ['1', '2', '3'],
    ]);
    expect(cells('x;y\n1;2\n')).toEqual([
      ['x', 'y'],
      ['1', '2'],
    ]);
    expect(cells('\uFEFFx,y\n1,2')).toEqual([
      ['x', 'y'],
      ['1', '2'],
    ]);
  });

  it('numbers each record by the line it starts on, across quoted line breaks and blank lines', () => {
    const { records, errors } = readCsv('h1,h2\r\n"two\r\nlines",x\r\n\r\n3,"a;b"\r\n');
    expect(errors).toEqual([]);
    expect(records).toEqual([
      { row: 1, cells: ['h1', 'h2'] },
      { row: 2, cells: ['two\r\nlines', 'x'] },
      { row: 4, cells: [''] },
      { row: 5, cells: ['3', 'a;b'] },
    ]);
  });

  it('stops at malformed quoting, naming the line of its record and keeping the records before it', () => {
    const bad = readCsv('h1,h2\n1,2\n3,"4"x\n5,6\n');
    expect(bad.records.map((r) => r.row)).toEqual([1, 2]);
    expect(bad.errors).toEqual([{ row: 3, message: expect.stringMatching(/^CSV: .*closing quote.*; the lines after it were not read$/i) }]);
    const open = readCsv('h1,h2\n1,2\n3,"4\n5,6\n');
    expect(open.errors).toEqual([{ row: 3, message: expect.stringMatching(/^CSV: Quote Not Closed/) }]);
  });
});

describe('POST /v1/promotions: CSV quoting and formula cells', () => {
  it('row numbers stay those of the file when a quoted cell spans lines', async () => {
    const r = await upload(csv([`"v1",m1,,500,${from},${until}`, `v1,"m9\r\nsecond line",,500,${from},${until}`, `v1,m1,,abc,${from},${until}`]));
    expect(r.statusCode).toBe(400);
    expect([...new Set(r.json().errors.map((e: { row: number }) => e.row))]).toEqual([3, 5]);
    expect(await list()).toEqual([]);
  });

  it('refuses every cell a spreadsheet would run as a formula, in CSV and JSON, and applies nothing', async () => {
    const body = csv([
      `v1,m1,,500,${from},${until}`,
      `"=HYPERLINK(""http://x"",""y"")",m1,,500,${from},${until}`,
      `v1,@SUM(A1),,500,${from},${until}`,
      `v1,m1,"+cmd|' /C calc'!A0",500,${from},${until}`,
      `v1,-m1,,500,${from},${until}`,
      `v1,＝m1,,500,${from},${until}`,
      `v1,m2,,"=1+2,3",${from},${until}`,
    ]);
    const r = await upload(body);
    expect(r.statusCode).toBe(400);
    const errors: Array<{ row: number; message: string }> = r.json().errors;
    expect(errors.map((e) => e.row)).toEqual([3, 4, 5, 6, 7, 8]);
    for (const e of errors) expect(e.message).toMatch(/runs as a formula/);
    expect(errors[0]!.message).toBe('venueId: starts with "=", which a spreadsheet runs as a formula');
    const json = await t.central.app.inject({ method: 'POST', url: '/v1/promotions', headers: bearer(TOKENS.admin), payload: [{ venueId: 'v1', mealId: '@m2', priceCents: 100, from, until }] });
    expect(json.statusCode).toBe(400);
    expect(json.json().errors).toEqual([{ row: 1, message: 'mealId: starts with "@", which a spreadsheet runs as a formula' }]);
    expect(await list()).toEqual([]);
  });

  it('a negative price is a plain number: refused as a price, not as a formula', async () => {
    const r = await upload(csv([`v1,m1,,-3,${from},${until}`]));
    expect(r.json().errors).toEqual([{ row: 2, message: expect.stringMatching(/^priceCents: /) }]);
    expect(r.json().errors[0].message).not.toMatch(/formula/);
  });

  it('malformed quoting is reported with its line and nothing is applied', async () => {
    const r = await upload(csv([`v1,m1,,500,${from},${until}`, `v1,"m1"x,,500,${from},${until}`, `v1,m2,,300,${from},${until}`]));
    expect(r.statusCode).toBe(400);
    expect(r.json().errors).toEqual([{ row: 3, message: expect.stringMatching(/^CSV: /) }]);
    expect(await list()).toEqual([]);
  });
});
