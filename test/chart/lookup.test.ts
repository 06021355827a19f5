// The generated gossip key survives upgrades: the chart looks its Secret up in the cluster and
// reuses the key. Checked with helm's real `lookup` against a stand-in API server
// (`helm template --dry-run=server`, the same rendering `helm upgrade` does).

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { only, render, type K8sObject } from './helm.js';
import { FakeKubeApi } from './fake-kube-api.js';

const api = new FakeKubeApi();
const key = (fill: number): string => Buffer.alloc(32, fill).toString('base64');
const secretData = (text: string): string => Buffer.from(text).toString('base64');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function renderAgainstCluster(set: string[]): Promise<K8sObject[]> {
  return render(
    { release: 'shoal', namespace: 'default', set, extraArgs: ['--dry-run=server'] },
    { kubeconfig: api.kubeconfig },
  );
}

function checksum(objects: K8sObject[]): string {
  return only(objects, 'StatefulSet')['spec'].template.metadata.annotations[
    'checksum/gossip-secret'
  ] as string;
}

beforeAll(() => api.start());
afterAll(() => api.stop());
beforeEach(() => {
  api.secrets.clear();
  api.requests.length = 0;
});

describe('generated gossip key', () => {
  it('is reused from the Secret already in the cluster, with an unchanged checksum', async () => {
    const existing = secretData(key(9));
    api.secrets.set('default/shoal-gossip', { 'gossip-key': existing });
    const first = await renderAgainstCluster(['gossip.encryption.enabled=true']);
    const second = await renderAgainstCluster(['gossip.encryption.enabled=true']);
    expect(api.requests).toContain('GET /api/v1/namespaces/default/secrets/shoal-gossip');
    for (const objects of [first, second]) {
      expect(only(objects, 'Secret', 'shoal-gossip')['data']['gossip-key']).toBe(existing);
      expect(checksum(objects)).toBe(sha256(existing));
    }
  });

  it('is generated afresh when the cluster has no such Secret', async () => {
    const objects = await renderAgainstCluster(['gossip.encryption.enabled=true']);
    expect(api.requests).toContain('GET /api/v1/namespaces/default/secrets/shoal-gossip');
    const data = only(objects, 'Secret')['data']['gossip-key'] as string;
    const keyBytes = Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64');
    expect(keyBytes).toHaveLength(32);
    expect(keyBytes.equals(Buffer.alloc(32, 9))).toBe(false);
    expect(checksum(objects)).toBe(sha256(data));
  });
});

describe('existing gossip Secret', () => {
  const set = [
    'gossip.encryption.enabled=true',
    'gossip.encryption.existingSecret=team-keys',
    'gossip.encryption.secretKey=keyring',
  ];

  it('rolls the pods exactly when its keys change', async () => {
    api.secrets.set('default/team-keys', { keyring: secretData(key(1)) });
    const before = checksum(await renderAgainstCluster(set));
    expect(checksum(await renderAgainstCluster(set))).toBe(before);
    // Rotation: a new primary key in front of the old one.
    api.secrets.set('default/team-keys', { keyring: secretData(`${key(2)},${key(1)}`) });
    const after = checksum(await renderAgainstCluster(set));
    expect(after).not.toBe(before);
    expect(api.requests).toContain('GET /api/v1/namespaces/default/secrets/team-keys');
  });
});
