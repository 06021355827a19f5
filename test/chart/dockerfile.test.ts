// The Dockerfile and the chart agree: the image runs `node /app/dist/src/main.js serve` as
// user 1000, exposes the ports the chart's pods declare, keeps its data in /data, and leaves the
// build tools behind. (Building and running the image is the container end-to-end test's job.)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, only, render } from './helm.js';

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions per stage: comments dropped, `\` continuations joined. */
function stages(text: string): Instruction[][] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
  const result: Instruction[][] = [[]];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') result.push([]);
    (result[result.length - 1] as Instruction[]).push(instruction);
  }
  return result;
}

const dockerfile = stages(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const [globalArgs = [], build = [], runtime = []] = dockerfile;
const args = (stage: Instruction[], keyword: string): string[] =>
  stage.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('Dockerfile', () => {
  it('builds from NODE_IMAGE (default: the current Node LTS, slim) in two stages', () => {
    expect(dockerfile).toHaveLength(3);
    expect(args(globalArgs, 'ARG')).toEqual(['NODE_IMAGE=node:22-bookworm-slim']);
    expect(args(build, 'FROM')).toEqual(['${NODE_IMAGE} AS build']);
    expect(args(runtime, 'FROM')).toEqual(['${NODE_IMAGE}']);
  });

  it('lets the build trust a proxy CA, installs exactly the lock file, compiles and prunes', () => {
    expect(args(build, 'ARG')).toContain('NODE_EXTRA_CA_CERTS');
    expect(args(build, 'ENV')).toContain('NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS}');
    const runs = args(build, 'RUN').join(' && ');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/npm run build\b/);
    expect(runs).toMatch(/npm prune --omit=dev\b/);
  });

  it('ships only the compiled code, production dependencies and package.json', () => {
    const copies = args(runtime, 'COPY');
    expect(copies).toEqual([
      '--from=build /src/package.json ./package.json',
      '--from=build /src/node_modules ./node_modules',
      '--from=build /src/dist/src ./dist/src',
    ]);
    expect(args(runtime, 'WORKDIR')).toEqual(['/app']);
    const env = args(runtime, 'ENV').join(' ');
    expect(env).toMatch(/NODE_ENV=production/);
    expect(env).toMatch(/SHOAL_DATA_DIR=\/data/);
    expect(args(runtime, 'RUN').join(' ')).toMatch(/chown 1000:1000 \/data/);
  });

  it('runs node directly as a numeric non-root user, in exec form', () => {
    expect(args(runtime, 'USER')).toEqual(['1000:1000']);
    expect(JSON.parse(args(runtime, 'ENTRYPOINT')[0] ?? '')).toEqual([
      'node',
      '/app/dist/src/main.js',
    ]);
    expect(JSON.parse(args(runtime, 'CMD')[0] ?? '')).toEqual(['serve']);
  });

  it('exposes the ports the chart gives the pods, and runs as the chart does', async () => {
    // EXPOSE without a protocol means TCP.
    const exposed = args(runtime, 'EXPOSE')
      .join(' ')
      .split(/\s+/)
      .map((p) => (p.includes('/') ? p : `${p}/tcp`))
      .sort();
    const sts = only(await render(), 'StatefulSet');
    const container = sts['spec'].template.spec.containers[0];
    const declared = (container.ports as { containerPort: number; protocol: string }[])
      .map((p) => `${p.containerPort}/${p.protocol.toLowerCase()}`)
      .sort();
    expect(exposed).toEqual(declared);
    expect(container.args).toEqual(['serve']);
    expect(container.securityContext.runAsUser).toBe(1000);
  });

  it('builds from a context of only the sources (.dockerignore allow-list)', () => {
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    expect(ignore.slice(1).sort()).toEqual([
      '!package-lock.json',
      '!package.json',
      '!src/',
      '!tsconfig.json',
    ]);
    // package.json's bin is the entry point the image runs.
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(`/app/${pkg.bin['shoal']}`).toBe('/app/dist/src/main.js');
  });
});
