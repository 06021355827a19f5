// Runs the real helm binary (scripts/install-helm.sh puts it in .tools/bin) against
// charts/shoal, with a timeout, and parses what it renders.

import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'shoal');
export const VALUES_DIR = join(REPO_ROOT, 'test', 'chart', 'values');

const HELM_TIMEOUT_MS = 20_000;
const OUTPUT_BYTES_MAX = 16 * 1024 * 1024;

/** The helm binary: $HELM when set, else the one scripts/install-helm.sh installs. */
export function helmPath(): string {
  const path = process.env['HELM'] ?? join(REPO_ROOT, '.tools', 'bin', 'helm');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `helm not found at ${path}: run scripts/install-helm.sh (it builds helm into .tools/bin)`,
    );
  }
  return path;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HelmOptions {
  timeoutMs?: number;
  /** The kube config helm may use; by default none, so it can reach no cluster. */
  kubeconfig?: string;
}

/** Runs helm with `args`; resolves with its exit code and output, never rejects on exit code. */
export function runHelm(args: string[], options: HelmOptions = {}): Promise<HelmResult> {
  const helm = helmPath();
  const timeoutMs = options.timeoutMs ?? HELM_TIMEOUT_MS;
  return new Promise((resolvePromise, reject) => {
    execFile(
      helm,
      args,
      {
        cwd: REPO_ROOT,
        timeout: timeoutMs,
        maxBuffer: OUTPUT_BYTES_MAX,
        env: { ...process.env, KUBECONFIG: options.kubeconfig ?? '/dev/null' },
      },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException & { killed?: boolean }).killed) {
          reject(new Error(`helm ${args.join(' ')} timed out after ${timeoutMs} ms`));
          return;
        }
        if (err && typeof err.code !== 'number') {
          reject(err);
          return;
        }
        resolvePromise({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
  });
}

/** A rendered Kubernetes object, loosely typed: tests navigate it and assert on it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> } & Record<
    string,
    unknown
  >;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [field: string]: any;
}

/**
 * Parses helm's multi-document output; fails on YAML errors, on documents without a kind, and
 * on scalars that YAML 1.1 (Kubernetes' parser: 0440 is octal, `on` is true) and YAML 1.2 read
 * differently.
 */
export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  const asYaml12 = parseAllDocuments(text);
  const asYaml11 = parseAllDocuments(text, { version: '1.1' });
  if (!Array.isArray(asYaml12) || !Array.isArray(asYaml11))
    throw new Error('rendered YAML is empty');
  for (const [i, doc] of asYaml11.entries()) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]}`);
    const value: unknown = doc.toJS();
    const other: unknown = asYaml12[i]?.toJS();
    if (JSON.stringify(value) !== JSON.stringify(other)) {
      const { kind, metadata } = (value ?? {}) as Partial<K8sObject>;
      throw new Error(`YAML 1.1 and 1.2 read ${kind} ${metadata?.name} differently; quote it`);
    }
    if (value === null || value === undefined) continue;
    const object = value as K8sObject;
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
      throw new Error(`rendered document without apiVersion/kind: ${JSON.stringify(value)}`);
    }
    objects.push(object);
  }
  return objects;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Values files under test/chart/values. */
  valuesFiles?: string[];
  /** --set pairs. */
  set?: string[];
  extraArgs?: string[];
}

/** `helm template` argv for charts/shoal. */
export function templateArgs(options: RenderOptions = {}): string[] {
  const args = [
    'template',
    options.release ?? 'shoal',
    CHART_DIR,
    '--namespace',
    options.namespace ?? 'default',
  ];
  for (const file of options.valuesFiles ?? []) args.push('--values', join(VALUES_DIR, file));
  for (const pair of options.set ?? []) args.push('--set', pair);
  args.push(...(options.extraArgs ?? []));
  return args;
}

/** Renders the chart; throws with helm's message when it fails. */
export async function render(
  options: RenderOptions = {},
  helmOptions: HelmOptions = {},
): Promise<K8sObject[]> {
  const result = await runHelm(templateArgs(options), helmOptions);
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr}`);
  return parseManifests(result.stdout);
}

/** The one object of `kind` (and `name`, when given); fails when there is not exactly one. */
export function only(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, rendered ${found.length}`);
  }
  return found[0] as K8sObject;
}
