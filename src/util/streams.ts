// Back-pressure on a Writable, shared by the stream edges (the exec demuxer, the archive's read-back).

/** Resolves when `w` can take more, or is gone (its failure is reported by whoever owns it). */
export const drained = (w: NodeJS.WritableStream & { off: NodeJS.EventEmitter['off'] }): Promise<void> =>
  new Promise<void>((res) => {
    const go = () => {
      w.off('drain', go).off('error', go).off('close', go);
      res();
    };
    w.on('drain', go).on('error', go).on('close', go);
  });
