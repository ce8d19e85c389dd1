/**
 * The rows of a promotions import, from CSV text (as operators export it from a spreadsheet) or a
 * JSON body, each with the number the operator sees: the CSV line a record starts on (header = 1),
 * or the 1-based index of a JSON row. CSV is read by csv-parse (RFC 4180 quoting, `,` or `;`,
 * CRLF or LF, quoted fields holding separators, quotes and line breaks). A cell that a spreadsheet
 * would run as a formula is refused, in CSV and JSON alike: promotions are listed and exported
 * again, and such a cell would run on the operator's machine when the export is opened.
 */
import { CsvError, parse } from 'csv-parse/sync';

/** The CSV columns (`fridgeId` may be empty: the promotion then applies to every fridge of the venue). */
export const PROMOTION_COLUMNS = ['venueId', 'mealId', 'fridgeId', 'priceCents', 'from', 'until'] as const;

/** A problem with one row (CSV: the line the record starts on, header = 1; JSON: 1-based index; 0: the whole import). */
export interface RowError {
  row: number;
  message: string;
}

/** One CSV record with the line it starts on. */
export interface CsvRecord {
  row: number;
  cells: string[];
}

/**
 * Reads CSV text into records. The separator is `;` when the first line has `;` and no `,`, else
 * `,`. Malformed quoting stops the reading: the records before it are returned, and the error names
 * the line of the record it is in (what follows cannot be told apart reliably).
 */
export function readCsv(text: string): { records: CsvRecord[]; errors: RowError[] } {
  const body = text.replace(/^\uFEFF/, '');
  const first = body.split(/\r?\n/, 1)[0] ?? '';
  const delimiter = first.includes(';') && !first.includes(',') ? ';' : ',';
  const records: CsvRecord[] = [];
  // Blank lines are kept as records, so each record starts on the line after the previous one
  // ends: one line, plus the line breaks inside its quoted cells. (Counted here: csv-parse's own
  // line count takes a CRLF inside a quoted cell for two lines.)
  let line = 1;
  try {
    parse(body, {
      delimiter,
      relax_column_count: true,
      skip_empty_lines: false,
      trim: true,
      on_record: (cells: string[]) => {
        records.push({ row: line, cells });
        line += 1 + cells.reduce((n, c) => n + (c.match(/\r\n|\r|\n/g)?.length ?? 0), 0);
        return null; // kept here, not in parse's result
      },
    });
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    return { records, errors: [{ row: line, message: `CSV: ${e.message}; the lines after it were not read` }] };
  }
  return { records, errors: [] };
}

/** First characters that make a spreadsheet evaluate a cell (with their full-width forms). */
const FORMULA_START = /^[=+\-@\t\r＝＋－＠]/;
/** A plain number is data to a spreadsheet, whatever its sign. */
const PLAIN_NUMBER = /^[+-]?\d+(\.\d+)?$/;

/** Messages for the string values of a row that a spreadsheet would run as formulas. */
export function formulaProblems(raw: unknown): string[] {
  if (typeof raw !== 'object' || raw === null) return [];
  return Object.entries(raw).flatMap(([column, v]) =>
    typeof v === 'string' && FORMULA_START.test(v) && !PLAIN_NUMBER.test(v) ? [`${column}: starts with ${JSON.stringify(v[0])}, which a spreadsheet runs as a formula`] : [],
  );
}

/** Raw rows with their numbers, from CSV text or a JSON body (an array of rows or `{ rows: [...] }`). */
export function rowsFromBody(body: unknown): { rows: Array<{ row: number; raw: unknown }>; errors: RowError[] } {
  if (typeof body === 'string') return rowsFromCsv(body);
  const arr = Array.isArray(body) ? body : typeof body === 'object' && body !== null && 'rows' in body ? body.rows : undefined;
  if (!Array.isArray(arr)) return { rows: [], errors: [{ row: 0, message: 'expected CSV text, a JSON array of rows, or {"rows": [...]}' }] };
  return { rows: arr.map((raw: unknown, i) => ({ row: i + 1, raw })), errors: [] };
}

function rowsFromCsv(text: string): { rows: Array<{ row: number; raw: unknown }>; errors: RowError[] } {
  const { records, errors } = readCsv(text);
  const header = records[0]?.cells ?? [];
  const missing = PROMOTION_COLUMNS.filter((c) => c !== 'fridgeId' && !header.includes(c));
  if (missing.length > 0) return { rows: [], errors: [{ row: 1, message: `header lacks column(s): ${missing.join(', ')}` }, ...errors] };
  const rows: Array<{ row: number; raw: unknown }> = [];
  for (const { row, cells } of records.slice(1)) {
    if (cells.every((c) => c === '')) continue; // blank line
    const o: Record<string, unknown> = {};
    header.forEach((h, k) => {
      const v = cells[k] ?? '';
      if (h === 'fridgeId' && v === '') return;
      o[h] = h === 'priceCents' && /^-?\d+$/.test(v) ? Number(v) : v;
    });
    rows.push({ row, raw: o });
  }
  return { rows, errors };
}
