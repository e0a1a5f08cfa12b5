// The output sink handed to commands, so tests can capture what a command prints.
export type Io = {
  out: (line: string) => void;
  err: (line: string) => void;
  isTTY: boolean;
};

/** The process's own stdout/stderr. */
export const processIo = (): Io => ({
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  isTTY: !!process.stdout.isTTY && !!process.stdin.isTTY,
});
