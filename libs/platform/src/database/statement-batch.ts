import type { QueryResultRow } from 'pg';
// node-postgres' own row parser and value serialiser: the batch speaks the protocol exactly as a pg Query does.
import Result from 'pg/lib/result';
import { prepareValue } from 'pg/lib/utils';

/** One statement of a batch: a named prepared statement (or, named '', one parsed and planned afresh) and its parameters. */
export interface BatchedStatement {
  name: string;
  text: string;
  values: readonly unknown[];
  /** False when nobody reads its rows (a write): no Describe is sent, and rows it returns are not parsed. */
  rows?: boolean;
}

/** The statement at `index` of a batch failed; those before it ran, those after it did not. */
export interface BatchFailure {
  index: number;
  error: unknown;
}

/** The protocol side of node-postgres' Connection that a Submittable drives (pg's own Query uses the same calls). */
interface Wire {
  stream: { cork(): void; uncork(): void };
  parsedStatements: Record<string, string>;
  parse(msg: { text: string; name: string; types: unknown[] }): void;
  bind(msg: { portal: string; statement: string; values: readonly unknown[]; binary: boolean; valueMapper: unknown }): void;
  describe(msg: { type: 'P' | 'S'; name: string }): void;
  execute(msg: { portal: string; rows: number }): void;
  close(msg: { type: 'S' | 'P'; name: string }): void;
  sync(): void;
}

/** Statements whose Parse went out in a batch that failed: they may or may not exist on that connection. */
const uncertain = new WeakMap<object, Set<string>>();

/**
 * Several statements sent as one extended-protocol exchange with a single Sync: one write from Node, one flush back
 * from PostgreSQL. node-postgres sends a Sync after every statement (also in its pipeline mode), which makes the
 * server flush a reply per statement; on this project's hot path those system calls cost more than the statements.
 * Measured on the 2-vCPU VM (BEGIN, inbox insert, locked read | update, history, outbox insert, COMMIT; 8 clients):
 * 0.64–0.69 ms of CPU per transaction against 0.78–1.01 pipelined and 1.0–1.1 as simple-protocol text.
 *
 * A node-postgres Submittable (the extension point pg-cursor uses): `client.query(batch)`, then await `batch.done`.
 * Statements run in order; after a failure the server skips the rest until the Sync. Use it on a client that is
 * not in pipeline mode. Between statements nothing is committed unless the batch says so (an implicit transaction
 * spans a batch without BEGIN).
 */
export class StatementBatch {
  readonly done: Promise<QueryResultRow[][]>;
  private readonly results: Result[];
  private index = 0;
  private wire?: Wire;
  private resolve!: (rows: QueryResultRow[][]) => void;
  private reject!: (failure: BatchFailure) => void;

  constructor(private readonly statements: readonly BatchedStatement[]) {
    this.results = statements.map(() => new Result());
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  submit(connection: Wire): void {
    this.wire = connection;
    const parsed = connection.parsedStatements;
    const doubtful = uncertain.get(connection);
    const parsing = new Set<string>();
    connection.stream.cork();
    try {
      for (const s of this.statements) {
        // The unnamed statement is parsed every time: each Parse replaces it, right before its own Bind.
        if (s.name === '' || (!parsed[s.name] && !parsing.has(s.name))) {
          // Closing a statement that does not exist is not an error: a doubtful one is made sure of.
          if (doubtful?.delete(s.name)) connection.close({ type: 'S', name: s.name });
          connection.parse({ text: s.text, name: s.name, types: [] });
          if (s.name !== '') parsing.add(s.name);
        }
        connection.bind({ portal: '', statement: s.name, values: s.values, binary: false, valueMapper: prepareValue });
        if (s.rows !== false) connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: 0 });
      }
      connection.sync();
    } finally {
      connection.stream.uncork();
    }
  }

  handleRowDescription(msg: { fields: unknown[] }): void {
    this.results[this.index].addFields(msg.fields);
  }

  handleDataRow(msg: { fields: unknown[] }): void {
    if (this.statements[this.index].rows === false) return; // not described, not wanted
    const result = this.results[this.index];
    result.addRow(result.parseRow(msg.fields));
  }

  handleCommandComplete(): void {
    const s = this.statements[this.index];
    if (s.name !== '') this.wire!.parsedStatements[s.name] = s.text;
    this.index++;
  }

  handleEmptyQuery(): void {
    this.index++;
  }

  handleError(error: unknown): void {
    // The failing statement's Parse may have gone through (a failed Bind or Execute) or not.
    const failed = this.statements[this.index];
    if (failed && failed.name !== '' && this.wire && !this.wire.parsedStatements[failed.name]) {
      let set = uncertain.get(this.wire);
      if (!set) uncertain.set(this.wire, (set = new Set()));
      set.add(failed.name);
    }
    this.reject({ index: this.index, error });
  }

  handleReadyForQuery(): void {
    this.resolve(this.results.map((r) => r.rows as QueryResultRow[]));
  }

  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}
