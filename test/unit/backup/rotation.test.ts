import { describe, expect, it } from 'vitest';
import { backupFileName, checksumLine, countTableData, expiredBackups, parseChecksumLine } from '../../../src/backup/rotation.js';

describe('backup rotation', () => {
  it('names backups by project and UTC time, sortable', () => {
    expect(backupFileName('phase', new Date('2025-01-02T03:04:05.678Z'))).toBe('phase-20250102T030405Z.dump');
  });

  it.each([
    [['p-20250101T000000Z.dump', 'p-20250103T000000Z.dump', 'p-20250102T000000Z.dump'], 2, ['p-20250101T000000Z.dump']],
    [['p-20250101T000000Z.dump', 'p-20250102T000000Z.dump'], 5, []],
    [['p-20250101T000000Z.dump', 'p-20250101T000000Z.dump.sha256', 'other.dump', 'px-20240101T000000Z.dump'], 0, []],
    [['p-20240101T000000Z.dump', 'p-20250101T000000Z.dump', 'manual.dump', 'px-20200101T000000Z.dump'], 1, ['p-20240101T000000Z.dump']],
  ])('keeps the newest N of this project only: %j keep %i', (names, keep, expired) => {
    expect(expiredBackups(names, 'p', keep)).toEqual(expired);
  });

  it('writes and reads sha256sum lines', () => {
    const sum = 'a'.repeat(64);
    expect(checksumLine(sum, 'x.dump')).toBe(`${sum}  x.dump\n`);
    expect(parseChecksumLine(checksumLine(sum, 'x.dump'))).toBe(sum);
    expect(parseChecksumLine(sum)).toBe(sum);
    expect(parseChecksumLine('nope')).toBeUndefined();
  });

  it('counts TABLE DATA entries of a pg_restore --list', () => {
    const list = [
      '; Archive created at 2025-01-01',
      ';     TABLE DATA entries are counted',
      '215; 1259 16385 TABLE public api_app phase',
      '3361; 0 16385 TABLE DATA public api_app phase',
      '3362; 0 16390 TABLE DATA public api_secretevent phase',
      '3200; 2606 16400 CONSTRAINT public api_app api_app_pkey phase',
    ].join('\n');
    expect(countTableData(list)).toBe(2);
  });
});
