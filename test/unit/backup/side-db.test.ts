import { describe, expect, it } from 'vitest';
import {
  SIDE_FACTS_SQL, SWAP_SQL, createSideSql, dropSql, dropdbArgv, oldMark, parseSideFacts, planSide, sideFactsVars, sideMark, sideNames, sideVars,
  type SideFacts,
} from '../../../src/backup/side-db.js';

const facts = (over: Partial<SideFacts> = {}): SideFacts =>
  ({ why: '', owner: 'phase', encoding: 'UTF8', collate: 'C.UTF-8', ctype: 'C.UTF-8', side: 'absent', old: 'absent', ...over });
const row = (f: SideFacts) => [f.why, f.owner, f.encoding, f.collate, f.ctype, f.side, f.old];

describe('restore through a side database', () => {
  it('names the side and the replaced database within PostgreSQL\'s 63 bytes, cut on a character, and a maintenance database that is neither', () => {
    expect(sideNames('phase')).toEqual({ side: 'phase_pcrestore', old: 'phase_pcreplaced', maintenance: 'postgres' });
    expect(sideNames('postgres').maintenance).toBe('template1');
    const long = sideNames('d'.repeat(63));
    expect(Buffer.byteLength(long.side)).toBe(63);
    expect(Buffer.byteLength(long.old)).toBe(63);
    // Two-byte characters: never half of one.
    const wide = sideNames('é'.repeat(40));
    expect(Buffer.byteLength(wide.side)).toBeLessThanOrEqual(63);
    expect(wide.side).toBe(`${'é'.repeat(26)}_pcrestore`);
    expect(wide.old).toBe(`${'é'.repeat(26)}_pcreplaced`);
  });

  it('reads the facts row, and nothing else', () => {
    expect(parseSideFacts([row(facts())])).toEqual(facts());
    expect(parseSideFacts([])).toBeUndefined();
    expect(parseSideFacts([row(facts()), row(facts())])).toBeUndefined();
    expect(parseSideFacts([row(facts()).slice(0, 6)])).toBeUndefined();
    expect(parseSideFacts([[...row(facts()).slice(0, 5), 'maybe', 'absent']])).toBeUndefined();
  });

  it('swaps a plain database; restores in place when the database has more than its tables, or a side name is taken by someone else', () => {
    expect(planSide('phase', facts())).toEqual({ kind: 'side', names: sideNames('phase'), facts: facts(), stale: [] });
    expect(planSide('phase', facts({ why: 'it has grants of its own' }))).toEqual({ kind: 'in-place', why: 'it has grants of its own' });
    expect(planSide('phase', facts({ side: 'other' }))).toEqual({ kind: 'in-place', why: 'a database phase_pcrestore exists that phase-compose did not make' });
    expect(planSide('phase', facts({ old: 'other' }))).toEqual({ kind: 'in-place', why: 'a database phase_pcreplaced exists that phase-compose did not make' });
    expect(planSide('phase', undefined)).toEqual({ kind: 'in-place', why: 'database phase was not found in pg_database' });
    // What a restore cut short left (marked as ours) goes first.
    const p = planSide('phase', facts({ side: 'ours', old: 'ours' }));
    expect(p.kind === 'side' && p.stale).toEqual(['side', 'old']);
  });

  it('the SQL names every database through psql variables, so no name is ever spliced into it', () => {
    const hostile = `x"; DROP DATABASE phase; --`;
    const p = planSide(hostile, facts({ side: 'ours', owner: `o"wn'er` }));
    if (p.kind !== 'side') throw new Error('expected the side plan');
    const sql = [SIDE_FACTS_SQL, createSideSql(p), SWAP_SQL, dropSql('side'), dropSql('old')].join('\n');
    expect(sql).not.toContain('x"');
    expect(sql).not.toContain('o"wn');
    expect(createSideSql(p)).toBe([
      'DROP DATABASE IF EXISTS :"side";',
      `CREATE DATABASE :"side" TEMPLATE template0 OWNER :"owner" ENCODING :'encoding' LC_COLLATE :'collate' LC_CTYPE :'ctype';`,
      `COMMENT ON DATABASE :"side" IS :'side_mark';`,
      '',
    ].join('\n'));
    // Every variable the SQL uses is given.
    const given = new Set([...Object.keys(sideVars(hostile, p)), ...Object.keys(sideFactsVars(hostile, p.names))]);
    for (const [, name] of sql.matchAll(/:["']([a-z_]+)["']/g)) expect(given.has(name!), name).toBe(true);
    expect(sideVars(hostile, p)).toMatchObject({ db: hostile, side: `${hostile}_pcrestore`, owner: `o"wn'er` });
  });

  it('the swap is one transaction: the live database takes the replaced name and its mark, the side one the live name without its mark', () => {
    expect(SWAP_SQL.split('\n').filter(Boolean)).toEqual([
      'BEGIN;',
      'ALTER DATABASE :"db" RENAME TO :"old";',
      `COMMENT ON DATABASE :"old" IS :'old_mark';`,
      'ALTER DATABASE :"side" RENAME TO :"db";',
      'COMMENT ON DATABASE :"db" IS NULL;',
      'COMMIT;',
    ]);
  });

  it('marks name the live database, so one database\'s leftovers are never taken for another\'s', () => {
    expect(sideMark('a')).not.toBe(sideMark('b'));
    expect(oldMark('a')).not.toBe(oldMark('b'));
    expect(sideMark('a')).not.toBe(oldMark('a'));
    expect(sideMark(`we"ird`)).toContain(JSON.stringify(`we"ird`));
  });

  it('dropdb takes the name after --, so a name that looks like an option stays a name', () => {
    expect(dropdbArgv({ user: 'u', db: 'live' }, '-h evil_pcreplaced')).toEqual(['dropdb', '-U', 'u', '--maintenance-db', 'live', '--', '-h evil_pcreplaced']);
  });
});
