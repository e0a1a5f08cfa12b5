// `--kube-version` → the API versions the manifests are written in. Pure.
import { compareVersions } from '../spec/target.js';
import { PhaseComposeError } from '../util/errors.js';

/** What the manifests target when `--kube-version` is not given: a currently supported Kubernetes. */
export const DEFAULT_KUBE_VERSION = '1.30';
/** The oldest Kubernetes the manifests are written for (startupProbe is GA from 1.20). */
export const OLDEST_KUBE_VERSION = '1.20';

export type KubeApis = {
  version: string;
  /** PodDisruptionBudget: policy/v1 from 1.21, policy/v1beta1 before. */
  pdb: 'policy/v1' | 'policy/v1beta1';
  /** CronJob: batch/v1 from 1.21, batch/v1beta1 before. */
  cronJob: 'batch/v1' | 'batch/v1beta1';
  /** EndpointSlice: discovery.k8s.io/v1 from 1.21, v1beta1 before (kube-proxy reads slices by default from 1.19). */
  endpointSlice: 'discovery.k8s.io/v1' | 'discovery.k8s.io/v1beta1';
};

/** Resolves a version written `1.20` or `1.20.2` (a leading `v` is accepted); a usage error otherwise. */
export function kubeApis(version: string = DEFAULT_KUBE_VERSION): KubeApis {
  const v = version.replace(/^v/, '');
  if (!/^1\.[0-9]+(\.[0-9]+)?$/.test(v)) {
    throw new PhaseComposeError('usage', `--kube-version ${JSON.stringify(version)} is not a Kubernetes version: write it like 1.20 or 1.30.2`);
  }
  if (compareVersions(v, OLDEST_KUBE_VERSION) < 0) {
    throw new PhaseComposeError('usage', `--kube-version ${v} is too old: the manifests need Kubernetes ${OLDEST_KUBE_VERSION} or later (startup probes)`);
  }
  const v121 = compareVersions(v, '1.21') >= 0;
  return {
    version: v,
    pdb: v121 ? 'policy/v1' : 'policy/v1beta1',
    cronJob: v121 ? 'batch/v1' : 'batch/v1beta1',
    endpointSlice: v121 ? 'discovery.k8s.io/v1' : 'discovery.k8s.io/v1beta1',
  };
}
