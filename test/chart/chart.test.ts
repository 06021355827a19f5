// charts/shoal rendered by the real helm: lint, every object valid for the Kubernetes API, and
// the objects what a user of the chart relies on (CONTRACT.md "Kubernetes").

import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, SETTINGS } from '../../src/config.js';
import {
  CHART_DIR,
  REPO_ROOT,
  only,
  parseManifests,
  render,
  runHelm,
  templateArgs,
  type K8sObject,
} from './helm.js';
import { validateObject } from './kube-schema.js';
import { containerEnv } from './pod-env.js';

const SELECTOR = { 'app.kubernetes.io/name': 'shoal', 'app.kubernetes.io/instance': 'shoal' };
const POD = { name: 'shoal-1', namespace: 'default', podIP: '10.244.2.7' };

function shoalContainer(sts: K8sObject): K8sObject {
  const containers = sts['spec'].template.spec.containers as K8sObject[];
  const container = containers.find((c) => c['name'] === 'shoal');
  if (!container) throw new Error('no container named shoal');
  return container;
}

function envOf(container: K8sObject): Map<string, { value?: string; valueFrom?: unknown }> {
  return new Map(
    (container['env'] as { name: string; value?: string; valueFrom?: unknown }[]).map((e) => [
      e.name,
      e,
    ]),
  );
}

function volumeNamed(sts: K8sObject, name: string): K8sObject | undefined {
  return (sts['spec'].template.spec.volumes as K8sObject[]).find((v) => v['name'] === name);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The Kubernetes "restricted" Pod Security Standard, checked field by field. */
function expectRestricted(podSpec: K8sObject): void {
  const pod = podSpec['securityContext'] ?? {};
  for (const container of podSpec['containers'] as K8sObject[]) {
    const sc = container['securityContext'] ?? {};
    expect(sc.runAsNonRoot ?? pod.runAsNonRoot, container['name']).toBe(true);
    expect(sc.runAsUser ?? pod.runAsUser, container['name']).not.toBe(0);
    expect(sc.allowPrivilegeEscalation, container['name']).toBe(false);
    expect(sc.privileged ?? false, container['name']).toBe(false);
    expect(sc.capabilities?.drop, container['name']).toContain('ALL');
    expect(sc.capabilities?.add ?? [], container['name']).toEqual([]);
    expect(sc.readOnlyRootFilesystem, container['name']).toBe(true);
    expect((sc.seccompProfile ?? pod.seccompProfile)?.type, container['name']).toBe(
      'RuntimeDefault',
    );
  }
  expect(podSpec['hostNetwork'] ?? false).toBe(false);
  expect(podSpec['hostPID'] ?? false).toBe(false);
  for (const volume of (podSpec['volumes'] ?? []) as K8sObject[])
    expect(volume['hostPath'], `volume ${volume['name']}`).toBeUndefined();
}

describe('helm lint --strict', () => {
  it.each([
    ['default values', []],
    ['every optional feature on', ['--values', 'test/chart/values/all-features.yaml']],
    ['an existing gossip Secret', ['--values', 'test/chart/values/existing-secret.yaml']],
  ])('passes with %s', async (_label, args) => {
    const result = await runHelm(['lint', '--strict', CHART_DIR, ...args]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });
});

describe('default values', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render();
  });

  it('render the cluster, its Services, account and budget, and a test pod; nothing optional', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual([
      'Pod/shoal-test-put-get',
      'PodDisruptionBudget/shoal',
      'Service/shoal',
      'Service/shoal-headless',
      'ServiceAccount/shoal',
      'StatefulSet/shoal',
    ]);
  });

  it('render only objects the Kubernetes API accepts', () => {
    for (const object of objects) validateObject(object);
  });

  it('label every object app.kubernetes.io/* and select pods by name + instance', () => {
    for (const object of objects) {
      expect(object.metadata.labels, object.kind).toMatchObject({
        ...SELECTOR,
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/version': '0.1.0',
        'helm.sh/chart': 'shoal-0.1.0',
      });
      expect(object.metadata.namespace, `${object.kind} is namespace-portable`).toBeUndefined();
    }
    const sts = only(objects, 'StatefulSet');
    expect(sts['spec'].selector).toEqual({ matchLabels: SELECTOR });
    expect(sts['spec'].template.metadata.labels).toMatchObject(SELECTOR);
    expect(only(objects, 'Service', 'shoal')['spec'].selector).toEqual(SELECTOR);
    expect(only(objects, 'Service', 'shoal-headless')['spec'].selector).toEqual(SELECTOR);
    expect(only(objects, 'PodDisruptionBudget')['spec'].selector).toEqual({
      matchLabels: SELECTOR,
    });
  });

  it('run a 3-node StatefulSet behind the headless Service, started in parallel', () => {
    const spec = only(objects, 'StatefulSet', 'shoal')['spec'];
    expect(spec.replicas).toBe(3);
    expect(spec.serviceName).toBe('shoal-headless');
    expect(spec.podManagementPolicy).toBe('Parallel');
    expect(spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
    expect(spec.template.spec.terminationGracePeriodSeconds).toBe(60);
    expect(spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(spec.template.spec.serviceAccountName).toBe('shoal');
  });

  it('give each pod a 1Gi ReadWriteOnce volume at /data', () => {
    const sts = only(objects, 'StatefulSet');
    const claims = sts['spec'].volumeClaimTemplates as K8sObject[];
    expect(claims).toHaveLength(1);
    expect(claims[0]?.metadata.name).toBe('data');
    expect(claims[0]?.['spec']).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
    });
    expect(volumeNamed(sts, 'data'), 'no emptyDir when persistent').toBeUndefined();
    const mounts = shoalContainer(sts)['volumeMounts'] as K8sObject[];
    expect(mounts).toContainEqual({ name: 'data', mountPath: '/data' });
  });

  it('keep the root filesystem read-only with an emptyDir /tmp, under the restricted profile', () => {
    const sts = only(objects, 'StatefulSet');
    const podSpec = sts['spec'].template.spec;
    expectRestricted(podSpec);
    expect(podSpec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(volumeNamed(sts, 'tmp')).toEqual({ name: 'tmp', emptyDir: {} });
    expect(shoalContainer(sts)['volumeMounts']).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  it('prefer spreading pods over hosts (soft anti-affinity)', () => {
    const affinity = only(objects, 'StatefulSet')['spec'].template.spec.affinity;
    expect(affinity).toEqual({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              topologyKey: 'kubernetes.io/hostname',
              labelSelector: { matchLabels: SELECTOR },
            },
          },
        ],
      },
    });
  });

  it('name each node after its pod, advertise the pod IP and discover peers by DNS', () => {
    const env = envOf(shoalContainer(only(objects, 'StatefulSet')));
    expect(env.get('SHOAL_NODE_NAME')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'metadata.name' },
    });
    expect(env.get('SHOAL_ADVERTISE_ADDR')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'status.podIP' },
    });
    expect(env.get('POD_NAMESPACE')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'metadata.namespace' },
    });
    expect(env.get('SHOAL_DISCOVERY_DNS')?.value).toBe(
      'shoal-headless.$(POD_NAMESPACE).svc.cluster.local',
    );
    expect(env.get('SHOAL_DATA_DIR')?.value).toBe('/data');
    expect(env.has('SHOAL_GOSSIP_KEYS_FILE')).toBe(false);
  });

  it('set only variables shoal knows, and values its configuration accepts', () => {
    const container = shoalContainer(only(objects, 'StatefulSet'));
    const env = containerEnv(container['env'], POD);
    const known = new Set(Object.values(SETTINGS).map((s) => s.env));
    for (const name of Object.keys(env))
      if (name.startsWith('SHOAL_')) expect(known, `${name} is a shoal setting`).toContain(name);
    const config = loadConfig({ argv: [], env });
    expect(config).toMatchObject({
      nodeName: 'shoal-1',
      advertiseAddr: '10.244.2.7',
      httpPort: 8080,
      gossipPort: 7946,
      dataDir: '/data',
      discoveryDns: 'shoal-headless.default.svc.cluster.local',
      clusterName: 'shoal',
      gossipKeys: [],
      replicationFactor: 3,
      partitions: 256,
      writeConsistency: 'quorum',
      readConsistency: 'quorum',
      maxKeyBytes: 1024,
      maxValueBytes: 1_048_576,
      tombstoneGraceMs: 864_000_000,
      logLevel: 'info',
    });
  });

  it('expose http 8080/TCP and gossip 7946 on UDP and TCP, and probe /healthz and /readyz on http', () => {
    const container = shoalContainer(only(objects, 'StatefulSet'));
    expect(container['image']).toBe('shoal:0.1.0');
    expect(container['args']).toEqual(['serve']);
    expect(container['ports']).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'gossip', containerPort: 7946, protocol: 'UDP' },
      { name: 'gossip-tcp', containerPort: 7946, protocol: 'TCP' },
    ]);
    expect(container['livenessProbe'].httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container['readinessProbe'].httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container['startupProbe'].httpGet).toEqual({ path: '/healthz', port: 'http' });
    // The startup probe allows a slow first open of a large store before liveness applies.
    const startup = container['startupProbe'];
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(60);
    expect(container['resources']).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '512Mi' },
    });
    // The preStop delay plus the graceful leave fit in the grace period.
    expect(container['lifecycle']).toEqual({ preStop: { exec: { command: ['sleep', '5'] } } });
  });

  it('annotate pods for Prometheus annotation-based scraping', () => {
    const annotations = only(objects, 'StatefulSet')['spec'].template.metadata.annotations;
    expect(annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '8080',
      'prometheus.io/path': '/metrics',
    });
  });

  it('publish not-ready pods on the headless Service with gossip on UDP and TCP', () => {
    const spec = only(objects, 'Service', 'shoal-headless')['spec'];
    expect(spec.clusterIP).toBe('None');
    expect(spec.publishNotReadyAddresses).toBe(true);
    // SRV records _gossip._udp.<service> exist only for a port named gossip with protocol UDP.
    expect(spec.ports).toEqual([
      { name: 'gossip', port: 7946, targetPort: 'gossip', protocol: 'UDP' },
      { name: 'gossip-tcp', port: 7946, targetPort: 'gossip-tcp', protocol: 'TCP' },
      { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' },
    ]);
  });

  it('serve clients on a ClusterIP Service port 8080 named http', () => {
    const spec = only(objects, 'Service', 'shoal')['spec'];
    expect(spec.type).toBe('ClusterIP');
    expect(spec.clusterIP).toBeUndefined();
    expect(spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
  });

  it('let voluntary disruptions take one pod at a time', () => {
    expect(only(objects, 'PodDisruptionBudget')['spec'].maxUnavailable).toBe(1);
  });

  it('create a ServiceAccount without a token', () => {
    expect(only(objects, 'ServiceAccount')['automountServiceAccountToken']).toBe(false);
  });

  it('ship a helm test pod that writes and reads a key through the client Service', () => {
    const pod = only(objects, 'Pod', 'shoal-test-put-get');
    expect(pod.metadata['annotations']).toMatchObject({ 'helm.sh/hook': 'test' });
    expect(pod['spec'].restartPolicy).toBe('Never');
    expectRestricted(pod['spec']);
    const container = (pod['spec'].containers as K8sObject[])[0] as K8sObject;
    expect(container['image']).toBe('curlimages/curl:8.11.1');
    const env = containerEnv(container['env'], { ...POD, name: 'shoal-test-put-get' });
    expect(env['SHOAL_URL']).toBe('http://shoal:8080');
    const script = (container['command'] as string[]).join('\n');
    expect(script).toMatch(/-X PUT [^\n]*"\$\{SHOAL_URL\}\/v1\/kv\/\$\{key\}"/);
    expect(script).toMatch(/curl[^\n]*"\$\{SHOAL_URL\}\/v1\/kv\/\$\{key\}"\)/);
    expect(script).toMatch(/if \[ "\$\{got\}" != "\$\{value\}" \]/);
  });
});

describe('every optional feature on', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render({
      release: 'prod',
      namespace: 'storage',
      valuesFiles: ['all-features.yaml'],
    });
  });

  it('render every optional object, all accepted by the Kubernetes API', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual([
      'ConfigMap/kv-dashboard',
      'NetworkPolicy/kv',
      'Pod/kv-test-put-get',
      'PodDisruptionBudget/kv',
      'PrometheusRule/kv',
      'Secret/kv-gossip',
      'Service/kv',
      'Service/kv-headless',
      'ServiceAccount/kv-runner',
      'ServiceMonitor/kv',
      'StatefulSet/kv',
    ]);
    for (const object of objects) validateObject(object);
  });

  it('generate a 32-byte gossip key, mount it, and roll the pods when it changes', () => {
    const secret = only(objects, 'Secret', 'kv-gossip');
    expect(secret.metadata['annotations']).toMatchObject({ 'helm.sh/resource-policy': 'keep' });
    const data = secret['data'].keys as string;
    const keyText = Buffer.from(data, 'base64').toString('utf8');
    expect(keyText).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(keyText, 'base64')).toHaveLength(32);

    const sts = only(objects, 'StatefulSet', 'kv');
    const annotations = sts['spec'].template.metadata.annotations;
    expect(annotations['checksum/gossip-secret']).toBe(sha256(data));
    expect(volumeNamed(sts, 'gossip-keys')).toEqual({
      name: 'gossip-keys',
      secret: { secretName: 'kv-gossip', defaultMode: 0o440 },
    });
    const container = shoalContainer(sts);
    expect(container['volumeMounts']).toContainEqual({
      name: 'gossip-keys',
      mountPath: '/etc/shoal/gossip',
      readOnly: true,
    });
    expect(envOf(container).get('SHOAL_GOSSIP_KEYS_FILE')?.value).toBe('/etc/shoal/gossip/keys');

    // shoal itself accepts the generated key file.
    const dir = mkdtempSync(join(tmpdir(), 'shoal-chart-'));
    try {
      const keysFile = join(dir, 'keys');
      writeFileSync(keysFile, keyText);
      const env = containerEnv(container['env'], { ...POD, name: 'kv-3', namespace: 'storage' });
      const config = loadConfig({ argv: [], env: { ...env, SHOAL_GOSSIP_KEYS_FILE: keysFile } });
      expect(config.gossipKeys).toEqual([Buffer.from(keyText, 'base64')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('generate a different key for every fresh install', async () => {
    const again = await render({
      release: 'prod',
      namespace: 'storage',
      valuesFiles: ['all-features.yaml'],
    });
    expect(only(again, 'Secret')['data'].keys).not.toBe(only(objects, 'Secret')['data'].keys);
  });

  it('pass every setting to shoal as a valid configuration', () => {
    const container = shoalContainer(only(objects, 'StatefulSet'));
    const env = containerEnv(container['env'], { ...POD, name: 'kv-3', namespace: 'storage' });
    const config = loadConfig({
      argv: [],
      env: { ...env, SHOAL_GOSSIP_KEYS: Buffer.alloc(32, 7).toString('base64') },
    });
    expect(config).toMatchObject({
      nodeName: 'kv-3',
      httpPort: 9080,
      gossipPort: 9946,
      discoveryDns: 'kv-headless.storage.svc.example.internal',
      dnsServer: { host: '10.96.0.10', port: 53 },
      join: [{ host: 'kv-0.kv-headless.storage.svc.example.internal', port: undefined }],
      clusterName: 'kv-prod',
      replicationFactor: 5,
      partitions: 1024,
      writeConsistency: 'all',
      readConsistency: 'one',
      maxKeyBytes: 512,
      maxValueBytes: 4_194_304,
      tombstoneGraceMs: 1_209_600_000,
      logLevel: 'debug',
    });
  });

  it('apply the StatefulSet, scheduling and pod settings', () => {
    const sts = only(objects, 'StatefulSet', 'kv');
    const spec = sts['spec'];
    expect(spec.replicas).toBe(5);
    expect(spec.serviceName).toBe('kv-headless');
    expect(spec.podManagementPolicy).toBe('OrderedReady');
    expect(spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { partition: 2 } });
    expect(spec.revisionHistoryLimit).toBe(3);
    expect(spec.volumeClaimTemplates).toBeUndefined();
    expect(spec.persistentVolumeClaimRetentionPolicy).toBeUndefined();
    expect(volumeNamed(sts, 'data')).toEqual({ name: 'data', emptyDir: { sizeLimit: '2Gi' } });

    const pod = spec.template.spec;
    expectRestricted(pod);
    expect(pod.terminationGracePeriodSeconds).toBe(120);
    expect(pod.serviceAccountName).toBe('kv-runner');
    expect(pod.priorityClassName).toBe('storage-critical');
    expect(pod.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toHaveLength(1);
    expect(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      {
        topologyKey: 'kubernetes.io/hostname',
        labelSelector: {
          matchLabels: { 'app.kubernetes.io/name': 'shoal', 'app.kubernetes.io/instance': 'prod' },
        },
      },
    ]);
    expect(
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution,
    ).toBeUndefined();
    // topologySpreadConstraints are templates: the release name is filled in.
    expect(pod.topologySpreadConstraints[0].labelSelector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'shoal',
      'app.kubernetes.io/instance': 'prod',
    });
    expect(pod.volumes).toContainEqual({ name: 'extra-config', configMap: { name: 'kv-extra' } });
    expect(spec.template.metadata.labels).toMatchObject({ tier: 'data' });
    expect(spec.template.metadata.annotations).toMatchObject({
      'example.com/team': 'storage',
      'prometheus.io/port': '9080',
    });

    const container = shoalContainer(sts);
    expect(container['image']).toBe('registry.example.com/team/shoal:0.1.0-rc.1');
    expect(container['imagePullPolicy']).toBe('Always');
    expect(container['startupProbe']).toBeUndefined();
    expect(container['readinessProbe']).toMatchObject({ periodSeconds: 3, successThreshold: 2 });
    expect(container['lifecycle'].preStop.exec.command).toEqual(['sleep', '10']);
    expect(container['volumeMounts']).toContainEqual({
      name: 'extra-config',
      mountPath: '/etc/kv-extra',
      readOnly: true,
    });
    // extraEnv comes after the chart's variables, so $(POD_NAMESPACE) expands.
    const names = (container['env'] as { name: string }[]).map((e) => e.name);
    expect(names.indexOf('SHOAL_JOIN')).toBeGreaterThan(names.indexOf('POD_NAMESPACE'));
  });

  it('apply the Service settings', () => {
    const client = only(objects, 'Service', 'kv');
    expect(client['spec'].type).toBe('NodePort');
    expect(client['spec'].ports).toEqual([
      { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', nodePort: 30080 },
    ]);
    expect(client.metadata['annotations']).toEqual({ 'example.com/owner': 'storage-team' });
    const headless = only(objects, 'Service', 'kv-headless')['spec'];
    expect(headless.ports.map((p: K8sObject) => [p['name'], p['port'], p['protocol']])).toEqual([
      ['gossip', 9946, 'UDP'],
      ['gossip-tcp', 9946, 'TCP'],
      ['http', 9080, 'TCP'],
    ]);
    expect(only(objects, 'PodDisruptionBudget')['spec'].maxUnavailable).toBe(2);
  });

  it('scrape every pod through the headless Service with a ServiceMonitor', () => {
    const monitor = only(objects, 'ServiceMonitor');
    expect(monitor.metadata.namespace).toBe('monitoring');
    expect(monitor.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
    const headless = only(objects, 'Service', 'kv-headless');
    const selector = monitor['spec'].selector.matchLabels as Record<string, string>;
    // It selects the headless Service (which lists not-ready pods) and not the client Service.
    expect(headless.metadata.labels).toMatchObject(selector);
    expect(only(objects, 'Service', 'kv').metadata.labels).not.toMatchObject(selector);
    expect(monitor['spec'].namespaceSelector).toEqual({ matchNames: ['storage'] });
    const endpoint = monitor['spec'].endpoints[0];
    expect(endpoint).toMatchObject({
      port: 'http',
      path: '/metrics',
      interval: '15s',
      scrapeTimeout: '5s',
      honorLabels: true,
    });
    expect(endpoint.relabelings[0]).toEqual({
      action: 'replace',
      targetLabel: 'job',
      replacement: 'kv-nodes',
    });
    expect(endpoint.metricRelabelings).toHaveLength(1);
  });

  it('label the Grafana dashboard ConfigMap for the sidecar and ship valid dashboard JSON', () => {
    const configMap = only(objects, 'ConfigMap', 'kv-dashboard');
    expect(configMap.metadata.namespace).toBe('monitoring');
    expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(configMap.metadata['annotations']).toEqual({ grafana_folder: 'Storage' });
    const dashboard = JSON.parse(configMap['data']['shoal.json'] as string);
    expect(dashboard).toEqual(
      JSON.parse(readFileSync(join(CHART_DIR, 'dashboards', 'shoal.json'), 'utf8')),
    );
  });

  it('confine gossip to shoal pods and HTTP to the allowed clients', () => {
    const policy = only(objects, 'NetworkPolicy')['spec'];
    const pods = {
      matchLabels: { 'app.kubernetes.io/name': 'shoal', 'app.kubernetes.io/instance': 'prod' },
    };
    expect(policy.podSelector).toEqual(pods);
    expect(policy.policyTypes).toEqual(['Ingress', 'Egress']);
    const [gossip, http, extra] = policy.ingress;
    expect(gossip).toEqual({
      from: [{ podSelector: pods }],
      ports: [
        { port: 9946, protocol: 'UDP' },
        { port: 9946, protocol: 'TCP' },
      ],
    });
    expect(http.ports).toEqual([{ port: 9080, protocol: 'TCP' }]);
    expect(http.from).toEqual([
      { podSelector: { matchLabels: { 'kv-client': 'true' } } },
      { podSelector: { matchLabels: { role: 'api' } } },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    expect(extra.from).toEqual([{ ipBlock: { cidr: '10.0.0.0/8' } }]);
    const [dns, peers, extraEgress] = policy.egress;
    expect(dns).toEqual({
      ports: [
        { port: 53, protocol: 'UDP' },
        { port: 53, protocol: 'TCP' },
      ],
    });
    expect(peers.to).toEqual([{ podSelector: pods }]);
    expect(peers.ports).toEqual(gossip.ports);
    expect(extraEgress.ports).toEqual([{ port: 443, protocol: 'TCP' }]);
    // The helm test pod carries the label the HTTP rule lets in.
    expect(only(objects, 'Pod').metadata.labels).toMatchObject({ 'kv-client': 'true' });
  });

  it('pin the test image by digest', () => {
    const container = only(objects, 'Pod')['spec'].containers[0];
    expect(container.image).toBe(
      'registry.example.com/tools/curl@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    const env = containerEnv(container.env, { ...POD, name: 'kv-test-put-get' });
    expect(env['SHOAL_URL']).toBe('http://kv:80');
  });
});

describe('an existing gossip Secret, persistence with options', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render({ valuesFiles: ['existing-secret.yaml'] });
  });

  it('render objects the Kubernetes API accepts, and no generated Secret, account or budget', () => {
    for (const object of objects) validateObject(object);
    const kinds = objects.map((o) => o.kind);
    expect(kinds).not.toContain('Secret');
    expect(kinds).not.toContain('ServiceAccount');
    expect(kinds).not.toContain('PodDisruptionBudget');
  });

  it('mount the named key of the existing Secret', () => {
    const sts = only(objects, 'StatefulSet');
    expect(volumeNamed(sts, 'gossip-keys')?.['secret'].secretName).toBe('team-gossip-keys');
    const container = shoalContainer(sts);
    expect(envOf(container).get('SHOAL_GOSSIP_KEYS_FILE')?.value).toBe('/etc/shoal/gossip/keyring');
    expect(sts['spec'].template.metadata.annotations['checksum/gossip-secret']).toMatch(
      /^[0-9a-f]{64}$/,
    );
    expect(sts['spec'].template.spec.serviceAccountName).toBe('default');
  });

  it('shape the volume claims and their retention', () => {
    const spec = only(objects, 'StatefulSet')['spec'];
    expect(spec.updateStrategy).toEqual({ type: 'OnDelete' });
    expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Delete',
      whenScaled: 'Delete',
    });
    const claim = spec.volumeClaimTemplates[0];
    expect(claim.metadata.annotations).toEqual({ 'example.com/backup': 'daily' });
    expect(claim.metadata.labels).toMatchObject({ tier: 'data' });
    expect(claim.spec).toEqual({
      accessModes: ['ReadWriteOncePod'],
      storageClassName: 'fast-ssd',
      resources: { requests: { storage: '20Gi' } },
    });
    expect(spec.template.spec.affinity.podAntiAffinity).toBeUndefined();
    expect(spec.template.spec.affinity.nodeAffinity).toBeDefined();
    expect(shoalContainer(only(objects, 'StatefulSet'))['lifecycle']).toBeUndefined();
    const client = only(objects, 'Service', 'shoal')['spec'];
    expect(client.type).toBe('LoadBalancer');
    expect(client.ports[0].nodePort).toBeUndefined();
  });

  it('render storageClass "-" as an explicit empty class', async () => {
    const rendered = await render({ set: ['persistence.storageClass=-'] });
    const claim = only(rendered, 'StatefulSet')['spec'].volumeClaimTemplates[0];
    expect(claim.spec.storageClassName).toBe('');
  });
});

describe('NOTES.txt', () => {
  // helm renders NOTES.txt only on install, which needs a cluster; render it through helm
  // template by copying the chart and wrapping the notes in a ConfigMap.
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shoal-notes-'));
    cpSync(CHART_DIR, join(dir, 'shoal'), { recursive: true });
    const notes = readFileSync(join(CHART_DIR, 'templates', 'NOTES.txt'), 'utf8');
    writeFileSync(
      join(dir, 'shoal', 'templates', 'notes-under-test.yaml'),
      `{{- define "notesUnderTest" }}${notes}{{- end }}\n` +
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n' +
        'data:\n  notes: {{ include "notesUnderTest" . | quote }}\n',
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function notes(set: string[]): Promise<string> {
    const args = templateArgs({ release: 'demo', namespace: 'kv', set });
    args[2] = join(dir, 'shoal');
    const result = await runHelm([...args, '--show-only', 'templates/notes-under-test.yaml']);
    expect(result.code, result.stderr).toBe(0);
    return only(parseManifests(result.stdout), 'ConfigMap')['data'].notes as string;
  }

  it('tell how to port-forward, curl and helm test the release', async () => {
    const text = await notes([]);
    expect(text).toContain('is starting as 3 pods (demo-shoal-0 to demo-shoal-2) in namespace kv.');
    expect(text).toContain('kubectl --namespace kv port-forward svc/demo-shoal 8080:8080');
    expect(text).toContain(
      "curl -X PUT localhost:8080/v1/kv/greeting -H 'Content-Type: text/plain' -d 'hello'",
    );
    expect(text).toContain('curl -i localhost:8080/v1/kv/greeting');
    expect(text).toContain('helm test demo --namespace kv');
    expect(text).not.toContain('WARNING');
  });

  it('warn when there are fewer nodes than copies, or no persistence', async () => {
    const text = await notes(['replicaCount=2', 'persistence.enabled=false']);
    expect(text).toMatch(/WARNING: replicaCount \(2\) is below config.replicationFactor \(3\)/);
    expect(text).toMatch(/WARNING: persistence is off/);
  });
});

describe('deploy/kind-config.yaml', () => {
  it('describes a kind cluster with three workers, one per shoal pod', () => {
    const config = parse(readFileSync(join(REPO_ROOT, 'deploy', 'kind-config.yaml'), 'utf8')) as {
      kind: string;
      apiVersion: string;
      nodes: { role: string }[];
    };
    expect(config.kind).toBe('Cluster');
    expect(config.apiVersion).toBe('kind.x-k8s.io/v1alpha4');
    expect(config.nodes.map((n) => n.role)).toEqual([
      'control-plane',
      'worker',
      'worker',
      'worker',
    ]);
  });
});

describe('deploy/shoal.yaml', () => {
  it('is the chart rendered with default values (scripts/render-deploy.sh)', async () => {
    const result = await runHelm([
      ...templateArgs({ release: 'shoal', namespace: 'default' }),
      '--skip-tests',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const file = readFileSync(join(REPO_ROOT, 'deploy', 'shoal.yaml'), 'utf8');
    // The file starts with a comment header, then exactly what helm prints.
    const body = file.replace(/^(#[^\n]*\n)+/, '');
    expect(body, 'deploy/shoal.yaml is stale: run scripts/render-deploy.sh').toBe(result.stdout);
    const objects = parseManifests(file);
    expect(objects.map((o) => o.kind)).not.toContain('Pod');
    expect(objects.map((o) => o.kind)).not.toContain('Secret');
    for (const object of objects) validateObject(object);
  });
});
