// node-postgres' internal modules that StatementBatch reuses (its row parser and value serialiser); @types/pg does
// not describe them.
declare module 'pg/lib/result' {
  export default class Result {
    constructor(rowMode?: string, types?: unknown);
    rows: unknown[];
    addFields(fields: unknown[]): void;
    addRow(row: unknown): void;
    parseRow(fields: unknown[]): unknown;
  }
}
declare module 'pg/lib/utils' {
  export function prepareValue(value: unknown): unknown;
}
