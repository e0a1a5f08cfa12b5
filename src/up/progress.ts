// Progress renderers: live lines on a TTY, one line per change otherwise, JSON lines for machines.
export type ProgressRow = { service: string; state: string; elapsedMs: number; detail?: string };

export type ProgressRenderer = {
  /** A service changed state (rows: every service, in plan order). */
  update(rows: ProgressRow[], changed: string): void;
  /** Redraw elapsed times (TTY only). */
  tick(rows: ProgressRow[]): void;
  /** A free-form note (backup written, migrations skipped). */
  note(text: string): void;
  done(): void;
};

const SYMBOL: Record<string, string> = { healthy: '✔', running: '✔', completed: '✔', skipped: '–', failed: '✗', exited: '✗', unhealthy: '✗', 'timed out': '✗' };
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** One formatted row: `✔ postgres      healthy     1.2s  detail`. */
export function formatRow(r: ProgressRow, width: number): string {
  const sym = SYMBOL[r.state] ?? '…';
  return `${sym} ${r.service.padEnd(width)}  ${r.state.padEnd(10)} ${secs(r.elapsedMs).padStart(6)}${r.detail ? `  ${r.detail}` : ''}`;
}

const widthOf = (rows: ProgressRow[]) => Math.max(8, ...rows.map((r) => r.service.length));

/** Plain lines: one per state change. */
export function plainRenderer(write: (line: string) => void): ProgressRenderer {
  return {
    update: (rows, changed) => {
      const r = rows.find((x) => x.service === changed);
      if (r) write(formatRow(r, widthOf(rows)));
    },
    tick: () => {},
    note: (t) => write(t),
    done: () => {},
  };
}

/** JSON lines: `{"service":..,"state":..,"elapsedMs":..}` per change; notes as `{"note":..}`. */
export function jsonRenderer(write: (line: string) => void): ProgressRenderer {
  return {
    update: (rows, changed) => {
      const r = rows.find((x) => x.service === changed);
      if (r) write(JSON.stringify({ event: 'state', ...r }));
    },
    tick: () => {},
    note: (t) => write(JSON.stringify({ event: 'note', text: t })),
    done: () => {},
  };
}

/**
 * A live block of lines redrawn in place (ANSI cursor movement); `write` must not add newlines itself.
 * Hand-written, not log-update: each row is cut to the terminal's width, so no row wraps and moving the
 * cursor up by the number of rows drawn is exact; and it writes through the injected `write`.
 */
export function ttyRenderer(write: (chunk: string) => void, columns: () => number | undefined = () => undefined): ProgressRenderer {
  let drawn = 0;
  const fit = (line: string) => {
    const c = columns();
    return c && [...line].length >= c ? [...line].slice(0, c - 1).join('') : line;
  };
  const draw = (rows: ProgressRow[]) => {
    const w = widthOf(rows);
    const up = drawn ? `\x1b[${drawn}A` : '';
    write(`${up}${rows.map((r) => `\x1b[2K${fit(formatRow(r, w))}\n`).join('')}`);
    drawn = rows.length;
  };
  return {
    update: (rows) => draw(rows),
    tick: (rows) => draw(rows),
    note: (t) => {
      // Notes go above the block: clear it, print, let the next draw redraw below.
      write(`${drawn ? `\x1b[${drawn}A\x1b[0J` : ''}${t}\n`);
      drawn = 0;
    },
    done: () => {},
  };
}
