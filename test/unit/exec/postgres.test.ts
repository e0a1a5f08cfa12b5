import { describe, expect, it } from 'vitest';
import { DUMP_COMPRESSION, pgDumpArgv, pgLogin, psqlArgv } from '../../../src/exec/postgres.js';

describe('postgres login and psql argv', () => {
  it.each([
    [['POSTGRES_USER=phase', 'POSTGRES_DB=phasedb', 'PATH=/bin'], { user: 'phase', db: 'phasedb' }],
    [['POSTGRES_USER=phase'], { user: 'phase', db: 'phase' }],
    [[], { user: 'postgres', db: 'postgres' }],
    [undefined, { user: 'postgres', db: 'postgres' }],
    [['POSTGRES_USER=', 'POSTGRES_DB=x=y'], { user: 'postgres', db: 'x=y' }],
  ])('reads %j', (env, want) => {
    expect(pgLogin(env)).toEqual(want);
  });

  it('passes values as psql variables, one argv element each, SQL on stdin', () => {
    expect(psqlArgv({ user: 'u', db: 'd' }, { org: `Acme; rm -rf / O'Brien "Labs"` })).toEqual([
      'psql', '-X', '-q', '-U', 'u', '-d', 'd', '-At', '-F', '\t', '-v', 'ON_ERROR_STOP=1',
      '-v', `org=Acme; rm -rf / O'Brien "Labs"`, '-f', '-',
    ]);
  });
});

describe('pg_dump argv', () => {
  it('is the custom format at zlib level 1 unless told', () => {
    expect(DUMP_COMPRESSION).toBe(1);
    expect(pgDumpArgv({ user: '-u', db: 'd b' })).toEqual(['pg_dump', '-U', '-u', '-d', 'd b', '-Fc', '-Z', '1']);
    expect(pgDumpArgv({ user: 'u', db: 'd' }, 0)).toEqual(['pg_dump', '-U', 'u', '-d', 'd', '-Fc', '-Z', '0']);
    expect(pgDumpArgv({ user: 'u', db: 'd' }, 9)).toEqual(['pg_dump', '-U', 'u', '-d', 'd', '-Fc', '-Z', '9']);
    expect(pgDumpArgv({ user: 'u', db: 'd' }, 1, '00000003-00000845-1')).toEqual(['pg_dump', '-U', 'u', '-d', 'd', '-Fc', '--snapshot=00000003-00000845-1', '-Z', '1']);
  });

  it.each([-1, 10, 1.5, Number.NaN])('refuses level %s', (level) => {
    expect(() => pgDumpArgv({ user: 'u', db: 'd' }, level)).toThrow(/pg_dump takes 0 \(none\) to 9/);
  });
});
