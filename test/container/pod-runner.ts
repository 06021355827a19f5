// Runs one pod of a rendered StatefulSet as a podman container, the way the kubelet would run it
// as far as one machine without Kubernetes allows: the container's own command, args and env
// (downward API filled in, $(VAR) expanded, Secret references resolved), its security context
// (user and group, read-only root, dropped capabilities, no privilege escalation, fsGroup), its
// memory limit, and its volume mounts: a claim from volumeClaimTemplates is a host directory
// per pod, an emptyDir a tmpfs, a Secret a read-only directory of its keys' files. Every pod
// shares the host's network (`--network=host`) and gets its own loopback IP as pod IP.
// Anything in the spec this cannot reproduce fails the plan, so a chart change never goes
// untested silently.

import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { K8sObject } from '../chart/helm.js';
import { containerEnv, type PodFacts } from '../chart/pod-env.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Spec = any;

export interface PodPlan {
  pod: PodFacts;
  containerName: string;
  /** The StatefulSet's container spec. */
  container: Spec;
  /** The environment the container gets from its spec, resolved as the kubelet would. */
  env: Record<string, string>;
  /** Host directories standing in for the pod's volumes, by volume name. */
  volumeDirs: Record<string, string>;
  terminationGracePeriodSeconds: number;
  /** `podman run` arguments, after `run`. */
  runArgs: string[];
}

export interface PlanOptions {
  statefulSet: K8sObject;
  /** Rendered Secrets, for secret volumes and secretKeyRef variables. */
  secrets: K8sObject[];
  pod: PodFacts;
  containerName: string;
  /** A directory of this pod's own, for its volumes. */
  hostDir: string;
}

/** The pod template's spec and its one container; fails on what is not simulated. */
export function podTemplate(statefulSet: K8sObject): { spec: Spec; container: Spec } {
  const spec = statefulSet['spec']?.template?.spec;
  if (spec === undefined) throw new Error('StatefulSet without spec.template.spec');
  if ((spec.initContainers ?? []).length > 0) throw new Error('initContainers are not simulated');
  if (spec.containers?.length !== 1) throw new Error('only a one-container pod is simulated');
  return { spec, container: spec.containers[0] };
}

/** A Kubernetes quantity ("512Mi", "1G", "250m") as a number of base units. */
export function parseQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(quantity);
  if (match === null) throw new Error(`quantity ${quantity} is not simulated`);
  const factors: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (match[2] === undefined ? 1 : (factors[match[2]] as number));
}

/** The number of a container port given by number or by name. */
export function containerPort(container: Spec, port: string | number): number {
  if (typeof port === 'number') return port;
  const found = (container.ports ?? []).find((p: Spec) => p.name === port);
  if (found === undefined) throw new Error(`container has no port named ${port}`);
  return found.containerPort as number;
}

/** The URL the kubelet's httpGet probe asks, at the pod's IP. */
export function probeUrl(probe: Spec, container: Spec, pod: PodFacts): string {
  const get = probe?.httpGet;
  if (get === undefined) throw new Error(`probe ${JSON.stringify(probe)} is not an httpGet probe`);
  if ((get.scheme ?? 'HTTP') !== 'HTTP')
    throw new Error(`probe scheme ${get.scheme} not simulated`);
  const host = (get.host as string | undefined) ?? pod.podIP;
  return `http://${host}:${containerPort(container, get.port)}${get.path ?? '/'}`;
}

/** Seconds the kubelet gives a probe before it gives up on the container (startup budget). */
export function probeBudgetSeconds(probe: Spec): number {
  return (
    (probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3)
  );
}

/** The preStop hook's command, when the container has an exec one. */
export function preStopCommand(container: Spec): string[] | undefined {
  const preStop = container.lifecycle?.preStop;
  if (preStop === undefined) return undefined;
  if (preStop.exec?.command === undefined) throw new Error('only exec preStop hooks are simulated');
  return preStop.exec.command as string[];
}

function secretValues(secrets: K8sObject[]): Map<string, Record<string, Buffer>> {
  const byName = new Map<string, Record<string, Buffer>>();
  for (const secret of secrets) {
    const values: Record<string, Buffer> = {};
    for (const [key, value] of Object.entries((secret['data'] ?? {}) as Record<string, string>)) {
      values[key] = Buffer.from(value, 'base64');
    }
    for (const [key, value] of Object.entries(
      (secret['stringData'] ?? {}) as Record<string, string>,
    )) {
      values[key] = Buffer.from(value, 'utf8');
    }
    byName.set(secret.metadata.name, values);
  }
  return byName;
}

/** Prepares the pod's volumes on the host and computes its `podman run` arguments. */
export function planPod(options: PlanOptions): PodPlan {
  const { statefulSet, pod, containerName, hostDir } = options;
  const { spec, container } = podTemplate(statefulSet);
  const podSecurity = spec.securityContext ?? {};
  const security = container.securityContext ?? {};
  const secrets = secretValues(options.secrets);

  const refs: Record<string, string> = {};
  for (const [name, values] of secrets) {
    for (const [key, value] of Object.entries(values))
      refs[`secret/${name}/${key}`] = String(value);
  }
  const env = containerEnv(container.env ?? [], pod, refs);
  if ((container.envFrom ?? []).length > 0) throw new Error('envFrom is not simulated');

  const args = [
    '--detach',
    '--name',
    containerName,
    '--pull=never',
    // Pods here share the host's network; each binds its own loopback IP (the pod IP).
    '--network=host',
    '--hostname',
    pod.name,
  ];

  // Security context: the container's fields win over the pod's.
  const user = security.runAsUser ?? podSecurity.runAsUser;
  const group = security.runAsGroup ?? podSecurity.runAsGroup;
  const nonRoot = security.runAsNonRoot ?? podSecurity.runAsNonRoot;
  if (nonRoot === true && (user === undefined || user === 0)) {
    throw new Error('runAsNonRoot without a non-zero runAsUser: the kubelet would refuse the pod');
  }
  if (user !== undefined) args.push('--user', group === undefined ? `${user}` : `${user}:${group}`);
  const fsGroup = podSecurity.fsGroup as number | undefined;
  if (fsGroup !== undefined) args.push('--group-add', String(fsGroup));
  for (const extra of podSecurity.supplementalGroups ?? []) args.push('--group-add', String(extra));
  if (security.readOnlyRootFilesystem === true) {
    // Only what the pod mounts is writable: no tmpfs of podman's own on /tmp, /run, /var/tmp.
    args.push('--read-only', '--read-only-tmpfs=false');
  }
  if (security.privileged === true) args.push('--privileged');
  for (const cap of security.capabilities?.drop ?? []) args.push(`--cap-drop=${cap}`);
  for (const cap of security.capabilities?.add ?? []) args.push(`--cap-add=${cap}`);
  if (security.allowPrivilegeEscalation === false) args.push('--security-opt=no-new-privileges');
  const seccomp = (security.seccompProfile ?? podSecurity.seccompProfile)?.type;
  if (seccomp === 'Unconfined') args.push('--security-opt=seccomp=unconfined');
  else if (seccomp !== undefined && seccomp !== 'RuntimeDefault') {
    throw new Error(`seccomp profile ${seccomp} is not simulated`);
  }

  const limits = container.resources?.limits ?? {};
  if (limits.memory !== undefined) args.push('--memory', String(parseQuantity(limits.memory)));
  if (limits.cpu !== undefined) args.push('--cpus', String(parseQuantity(limits.cpu)));

  const grace = (spec.terminationGracePeriodSeconds as number | undefined) ?? 30;
  args.push('--stop-timeout', String(grace));

  // Volumes, as the kubelet sets them up; with fsGroup, the pod's group owns each one.
  const volumeDirs: Record<string, string> = {};
  const claims = new Set<string>(
    (statefulSet['spec'].volumeClaimTemplates ?? []).map((c: Spec) => c.metadata.name as string),
  );
  const volumes = new Map<string, Spec>(
    (spec.volumes ?? []).map((v: Spec) => [v.name as string, v]),
  );
  const ownToGroup = (path: string, mode: number): void => {
    if (fsGroup !== undefined) chownSync(path, 0, fsGroup);
    chmodSync(path, mode);
  };
  for (const mount of container.volumeMounts ?? []) {
    if (mount.subPath !== undefined || mount.subPathExpr !== undefined) {
      throw new Error(`volumeMount ${mount.name}: subPath is not simulated`);
    }
    const volume = volumes.get(mount.name);
    const readOnly = mount.readOnly === true;
    if (claims.has(mount.name) && volume === undefined) {
      // A fresh claim: a volume whose root the provisioner made root-owned 0755, then the
      // kubelet gave to fsGroup (group-writable, setgid).
      const dir = join(hostDir, mount.name);
      mkdirSync(dir, { recursive: true });
      ownToGroup(dir, fsGroup === undefined ? 0o755 : 0o2775);
      volumeDirs[mount.name] = dir;
      args.push('--volume', `${dir}:${mount.mountPath}${readOnly ? ':ro' : ''}`);
    } else if (volume?.emptyDir !== undefined) {
      // An emptyDir is world-writable (0777), so the group fsGroup would give it (which a podman
      // tmpfs cannot take) changes nothing the container can see.
      const options = ['rw', 'mode=0777'];
      const size = volume.emptyDir.sizeLimit;
      if (size !== undefined) options.push(`size=${parseQuantity(size)}`);
      if (readOnly) options[0] = 'ro';
      args.push('--tmpfs', `${mount.mountPath}:${options.join(',')}`);
    } else if (volume?.secret !== undefined) {
      const name = volume.secret.secretName as string;
      const values = secrets.get(name);
      if (values === undefined) {
        if (volume.secret.optional === true) continue;
        throw new Error(`volume ${mount.name}: Secret ${name} is not rendered`);
      }
      if (volume.secret.items !== undefined) throw new Error('secret items are not simulated');
      const dir = join(hostDir, mount.name);
      mkdirSync(dir, { recursive: true });
      // Secret files: defaultMode (0644 unless set), readable by fsGroup when there is one.
      let fileMode = (volume.secret.defaultMode as number | undefined) ?? 0o644;
      if (fsGroup !== undefined) fileMode |= 0o440;
      for (const [key, value] of Object.entries(values)) {
        const file = join(dir, key);
        writeFileSync(file, value);
        ownToGroup(file, fileMode);
      }
      ownToGroup(dir, 0o755);
      volumeDirs[mount.name] = dir;
      // Secret volumes are always read-only.
      args.push('--volume', `${dir}:${mount.mountPath}:ro`);
    } else {
      throw new Error(`volume ${mount.name} (${JSON.stringify(volume)}) is not simulated`);
    }
  }

  for (const [name, value] of Object.entries(env)) args.push('--env', `${name}=${value}`);
  if (container.workingDir !== undefined) args.push('--workdir', container.workingDir);
  if (container.command !== undefined) {
    args.push('--entrypoint', JSON.stringify(container.command));
  }
  args.push(container.image as string, ...((container.args ?? []) as string[]));

  return {
    pod,
    containerName,
    container,
    env,
    volumeDirs,
    terminationGracePeriodSeconds: grace,
    runArgs: args,
  };
}
