// A stand-in for the Kubernetes API server, just enough for helm's `lookup` of Secrets during
// `helm template --dry-run=server`: version, discovery of the core group, and GET of the
// Secrets the test puts in it. Plain HTTP on a loopback port, with a kube config pointing at it.

import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class FakeKubeApi {
  /** Secrets by "namespace/name": their `data` (values base64, as the API returns them). */
  readonly secrets = new Map<string, Record<string, string>>();
  /** Paths requested, in order. */
  readonly requests: string[] = [];
  private server: Server | undefined;
  private dir: string | undefined;
  kubeconfig = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      this.requests.push(`${req.method} ${path}`);
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const secret = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(path);
      if (req.method !== 'GET') {
        send(405, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 405 });
      } else if (path === '/version') {
        send(200, { major: '1', minor: '31', gitVersion: 'v1.31.0' });
      } else if (path === '/api') {
        send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
      } else if (path === '/apis') {
        send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
      } else if (path === '/api/v1') {
        send(200, {
          kind: 'APIResourceList',
          groupVersion: 'v1',
          resources: [
            {
              name: 'secrets',
              singularName: 'secret',
              namespaced: true,
              kind: 'Secret',
              verbs: ['get'],
            },
          ],
        });
      } else if (secret && this.secrets.has(`${secret[1]}/${secret[2]}`)) {
        send(200, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: secret[2], namespace: secret[1] },
          type: 'Opaque',
          data: this.secrets.get(`${secret[1]}/${secret[2]}`),
        });
      } else {
        send(404, {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotFound',
          message: `${path} not found`,
          code: 404,
        });
      }
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    this.dir = mkdtempSync(join(tmpdir(), 'shoal-kube-'));
    this.kubeconfig = join(this.dir, 'config');
    writeFileSync(
      this.kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: fake, cluster: {server: "http://127.0.0.1:' + port + '"}}]',
        'users: [{name: fake, user: {}}]',
        'contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: default}}]',
        'current-context: fake',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
