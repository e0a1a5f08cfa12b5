// The one sha256 helper: hex digest of bytes or a string (UTF-8).
import { createHash } from 'node:crypto';

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
