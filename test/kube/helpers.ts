// Shared by the Kubernetes tests (test/kube/*.kube.test.ts): the test bed's environment, kubectl and
// generate runners, polling, and the hostPath volume a StatefulSet's claim binds to (the test bed has no
// storage provisioner).
//
// The test bed's environment comes from the process (PHASE_COMPOSE_KUBE, ...) or from the file the script
// writes ($PHASE_COMPOSE_KUBE_STATE/env, default /var/lib/phase-compose-kube/env). With CI=true a missing
// test bed fails the run; locally these tests are skipped with the command that starts it.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/cli.js');
export const CI = process.env.CI === 'true' || process.env.CI === '1';
export const STATE = process.env.PHASE_COMPOSE_KUBE_STATE ?? '/var/lib/phase-compose-kube';

export function bedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  const file = join(STATE, 'env');
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m) env[m[1]!] = m[2]!;
    }
  }
  for (const k of ['PHASE_COMPOSE_KUBE', 'PHASE_COMPOSE_KUBECTL', 'PHASE_COMPOSE_KUBE_NODE', 'PHASE_COMPOSE_KUBE_NETNS', 'PHASE_COMPOSE_KUBE_CTRD']) {
    if (process.env[k]) env[k] = process.env[k]!;
  }
  return env;
}
export const BED = bedEnv();
export const HAVE_API = !!BED.PHASE_COMPOSE_KUBE && existsSync(BED.PHASE_COMPOSE_KUBE);
export const HAVE_NODE = HAVE_API && BED.PHASE_COMPOSE_KUBE_NODE === '1';
export const START = 'start it with: bash scripts/kube-testbed.sh node   (or `api` for the API server alone)';
if (!HAVE_API && !CI) console.log(`Kubernetes tests SKIPPED: no test bed (${join(STATE, 'env')} missing); ${START}`);

/**
 * A long command without blocking the worker (vitest's RPC to the main process times out when the
 * event loop is blocked for a minute): image builds and imports, applies.
 */
export const shAsync = (cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
export const okAsync = async (p: ReturnType<typeof shAsync>, what: string) => {
  const r = await p;
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
export const sh = (cmd: string, args: string[], input?: string): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 << 20, timeout: 300_000 });
export const kubectl = (...args: string[]) => sh(BED.PHASE_COMPOSE_KUBECTL ?? 'kubectl', ['--kubeconfig', BED.PHASE_COMPOSE_KUBE ?? '', ...args]);
export const ok = (r: SpawnSyncReturns<string>, what: string) => {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
export const json = <T = any>(...args: string[]): T => JSON.parse(ok(kubectl(...args, '-o', 'json'), `kubectl ${args.join(' ')}`)) as T; // eslint-disable-line @typescript-eslint/no-explicit-any
export const generate = (spec: string, dir: string, ...extra: string[]) =>
  okAsync(shAsync(process.execPath, [CLI, 'generate', '-q', '-f', spec, '--target', 'kubernetes', '-o', dir, ...extra]), `generate ${spec}`);
export const kubectlAsync = (...args: string[]) => shAsync(BED.PHASE_COMPOSE_KUBECTL ?? 'kubectl', ['--kubeconfig', BED.PHASE_COMPOSE_KUBE ?? '', ...args]);
let built = false;
/** Tests the current sources, not a stale dist/ (as the e2e project's global setup does). */
export const build = async () => {
  if (!built) await okAsync(shAsync(process.execPath, [join(ROOT, 'scripts/build.mjs')]), 'build (node scripts/build.mjs)');
  built = true;
};
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export async function until<T>(what: string, secs: number, f: () => T | undefined | false): Promise<T> {
  const end = Date.now() + secs * 1000;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${secs}s`);
    await sleep(1000);
  }
}

export type Pod = { metadata: { name: string; labels: Record<string, string> }; spec: { containers: Array<{ image: string }> }; status: { phase: string; conditions?: Array<{ type: string; status: string; lastTransitionTime: string }>; initContainerStatuses?: Array<{ state: Record<string, unknown> }> } };
export type Job = { metadata: { name: string; creationTimestamp: string }; status: { succeeded?: number; failed?: number; completionTime?: string; conditions?: Array<{ type: string; status: string; reason?: string }> } };
export const readyAt = (p: Pod) => {
  const c = p.status.conditions?.find((x) => x.type === 'Ready' && x.status === 'True');
  return c ? Date.parse(c.lastTransitionTime) : undefined;
};

/**
 * A hostPath PersistentVolume bound to the postgres StatefulSet's claim in `ns`, writable by the
 * database's own user as a provisioner's volume would be. Returns its cleanup.
 */
export function postgresVolume(ns: string): () => void {
  const pvDir = join(STATE, 'pv', ns);
  mkdirSync(pvDir, { recursive: true, mode: 0o777 });
  chmodSync(pvDir, 0o777);
  const pv = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: `${ns}-postgres` }, spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', hostPath: { path: pvDir, type: 'Directory' }, claimRef: { namespace: ns, name: 'data-postgres-0' } } };
  ok(sh(BED.PHASE_COMPOSE_KUBECTL!, ['--kubeconfig', BED.PHASE_COMPOSE_KUBE!, 'apply', '-f', '-'], JSON.stringify(pv)), 'create the PersistentVolume');
  return () => void kubectl('delete', 'pv', `${ns}-postgres`, '--wait=false');
}
