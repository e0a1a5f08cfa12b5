import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatSizeReport, ORG_APP_SQL, parseTableSize, prettyBytes, PURGE_COUNT_SQL, SIZE_SQL, vacuumSql } from '../../../src/exec/audit-sql.js';
import { parseResetResult, RESET_NETWORK_POLICIES_PY, resetNetworkPoliciesArgv } from '../../../src/exec/network-reset.js';
import { renderTaskArgv } from '../../../src/model/task.js';

describe('audit SQL', () => {
  it('binds every value as a psql variable, never by concatenation', () => {
    for (const sql of [SIZE_SQL, ORG_APP_SQL, PURGE_COUNT_SQL, vacuumSql(true), vacuumSql(false)]) {
      expect(sql).not.toMatch(/\$\{/);
      expect(sql).toMatch(/:'(org|table|app|retain)'|:"table"/);
    }
    expect(PURGE_COUNT_SQL).toContain(`e.event_type = 'R'`);
    expect(PURGE_COUNT_SQL).toContain(`e.timestamp <= now() - make_interval(days => :'retain'::int)`);
    expect(vacuumSql(false)).toBe("SELECT format('VACUUM (ANALYZE) %s', to_regclass(:'table')) WHERE to_regclass(:'table') IS NOT NULL \\gexec\n");
    expect(vacuumSql(true)).toBe("SELECT format('VACUUM FULL ANALYZE %s', to_regclass(:'table')) WHERE to_regclass(:'table') IS NOT NULL \\gexec\n");
  });

  it('parses the size row; a missing table gives undefined', () => {
    expect(parseTableSize([['8192', '16384', '24576', '10', '2']])).toEqual({ data: 8192, indexes: 16384, total: 24576, live: 10, dead: 2 });
    expect(parseTableSize([])).toBeUndefined();
  });

  it.each([[0, '0 bytes'], [1023, '1023 bytes'], [1536, '1.5 kB'], [18_253_824, '17.4 MB'], [5 * 1024 ** 3, '5.0 GB']])('prettyBytes(%i)', (n, s) => {
    expect(prettyBytes(n)).toBe(s);
  });

  it('formats before and after with the change', () => {
    const before = { data: 2048, indexes: 1024, total: 3072, live: 100, dead: 0 };
    const after = { data: 2048, indexes: 1024, total: 3072, live: 60, dead: 40 };
    expect(formatSizeReport('api_secretevent', before, after)).toEqual([
      'size of api_secretevent: before -> after (change)',
      '  data           2.0 kB ->     2.0 kB (0)',
      '  indexes        1.0 kB ->     1.0 kB (0)',
      '  total          3.0 kB ->     3.0 kB (0)',
      '  live rows         100 ->         60 (-40)',
      '  dead rows           0 ->         40 (+40)',
    ]);
  });
});

describe('network policy reset', () => {
  it('parses the result line', () => {
    expect(parseResetResult('noise\nphase-compose-reset: changed=3 total=7\n')).toEqual({ changed: 3, total: 7 });
    expect(parseResetResult('Traceback ...')).toBeUndefined();
  });

  it('the phase template ships the same program, and it renders without placeholders', () => {
    const tpl = parse(readFileSync(new URL('../../../templates/phase/phase-compose.yaml', import.meta.url), 'utf8').replace(/^\{\{[A-Z_]+\}\}$/gm, '').replace(/\{\{[A-Z_]+\}\}/g, 'x'));
    const task = tpl.maintenance['reset-network-policies'];
    expect(task.kind).toBe('phase-reset-network-policies');
    expect(renderTaskArgv(task, {})).toEqual(resetNetworkPoliciesArgv());
    expect(RESET_NETWORK_POLICIES_PY).not.toMatch(/\{[a-z_]+\}/);
  });
});
