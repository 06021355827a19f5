// charts/shoal/values.schema.json: it describes every value of values.yaml, closes every object
// of ours to unknown keys, and makes helm refuse a typo or a wrong type before rendering.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_DIR, runHelm, templateArgs } from './helm.js';

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  $ref?: string;
  allOf?: Schema[];
  oneOf?: Schema[];
  definitions?: Record<string, Schema>;
  description?: string;
}

const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Schema;
const values: unknown = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));

/** Definitions for Kubernetes objects passed through as they are (the API server checks them). */
const PASS_THROUGH = new Set(['#/definitions/k8sObject']);

function resolve(node: Schema): Schema {
  if (node.$ref) {
    const name = node.$ref.replace('#/definitions/', '');
    const target = schema.definitions?.[name];
    if (!target) throw new Error(`unresolved ${node.$ref}`);
    return resolve(target);
  }
  if (node.allOf?.length === 1 && node.allOf[0]) return resolve(node.allOf[0]);
  return node;
}

function isPassThrough(node: Schema): boolean {
  if (node.$ref && PASS_THROUGH.has(node.$ref)) return true;
  return node.allOf?.length === 1 && node.allOf[0] ? isPassThrough(node.allOf[0]) : false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

describe('values.schema.json', () => {
  it('describes every key of values.yaml', () => {
    const undescribed: string[] = [];
    const walk = (value: unknown, node: Schema, path: string): void => {
      if (isPassThrough(node)) return;
      const resolved = resolve(node);
      if (isPlainObject(value) && resolved.properties) {
        for (const [key, child] of Object.entries(value)) {
          const childSchema = resolved.properties[key];
          if (!childSchema) undescribed.push(`${path}${key}`);
          else walk(child, childSchema, `${path}${key}.`);
        }
      }
    };
    walk(values, schema, '');
    expect(undescribed).toEqual([]);
  });

  it('closes every object of ours to unknown keys', () => {
    const open: string[] = [];
    const walk = (node: Schema, path: string): void => {
      if (isPassThrough(node)) return;
      const resolved = resolve(node);
      const types = [resolved.type ?? []].flat();
      if (types.includes('object')) {
        const closed = resolved.properties !== undefined && resolved.additionalProperties === false;
        // A map (labels, annotations, resources) constrains its values instead.
        const map = typeof resolved.additionalProperties === 'object';
        if (!closed && !map) open.push(path || '(root)');
      }
      for (const [key, child] of Object.entries(resolved.properties ?? {}))
        walk(child, `${path}${path ? '.' : ''}${key}`);
      if (resolved.items) walk(resolved.items, `${path}[]`);
    };
    walk(schema, '');
    expect(open).toEqual([]);
  });

  it('gives every described value a type or a closed set of choices', () => {
    const untyped: string[] = [];
    const walk = (node: Schema, path: string): void => {
      const resolved = resolve(node);
      if (resolved.type === undefined && resolved.oneOf === undefined) untyped.push(path);
      for (const [key, child] of Object.entries(resolved.properties ?? {}))
        walk(child, `${path}.${key}`);
    };
    walk(schema, '(root)');
    expect(untyped).toEqual([]);
  });
});

describe('helm template refuses bad values', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'a string for an integer',
      ['--set', 'replicaCount=abc'],
      /replicaCount: Invalid type. Expected: integer, given: string/,
    ],
    [
      'a quoted number',
      ['--set-string', 'replicaCount=3'],
      /replicaCount: Invalid type. Expected: integer, given: string/,
    ],
    [
      'a misspelled top-level key',
      ['--set', 'replicaCont=3'],
      /Additional property replicaCont is not allowed/,
    ],
    [
      'a misspelled nested key',
      ['--set', 'persistence.sise=2Gi'],
      /persistence: Additional property sise is not allowed/,
    ],
    [
      'a misspelled EnvVar field',
      ['--set', 'extraEnv[0].nam=X'],
      /extraEnv\.0: Additional property nam is not allowed/,
    ],
    [
      'an unknown consistency level',
      ['--set', 'config.writeConsistency=most'],
      /config\.writeConsistency: .*one of/,
    ],
    [
      'too many copies',
      ['--set', 'config.replicationFactor=16'],
      /config\.replicationFactor: Must be less than or equal to 15/,
    ],
    [
      'an unknown anti-affinity preset',
      ['--set', 'podAntiAffinityPreset=maybe'],
      /podAntiAffinityPreset: .*one of/,
    ],
    ['an unknown Service type', ['--set', 'service.type=Ingress'], /service\.type: .*one of/],
    [
      'a string for a boolean',
      ['--set-string', 'gossip.encryption.enabled=yes'],
      /gossip\.encryption\.enabled: Invalid type. Expected: boolean/,
    ],
    [
      'a size without a unit pattern',
      ['--set', 'persistence.size=lots'],
      /persistence\.size: Does not match pattern/,
    ],
    [
      'a port out of range',
      ['--set', 'containerPorts.http=70000'],
      /containerPorts\.http: Must be less than or equal to 65535/,
    ],
    [
      'a bare number for a duration',
      ['--set', 'metrics.serviceMonitor.interval=30'],
      /metrics\.serviceMonitor\.interval: Invalid type/,
    ],
  ];

  it.each(cases)('%s', async (_label, args, message) => {
    const result = await runHelm([...templateArgs(), ...args]);
    expect(result.code, result.stdout).not.toBe(0);
    expect(result.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(result.stderr).toMatch(message);
  });

  it('accepts a valid override of each kind', async () => {
    const result = await runHelm([
      ...templateArgs(),
      '--set',
      'replicaCount=5',
      '--set',
      'config.writeConsistency=one',
      '--set',
      'persistence.size=10Gi',
      '--set',
      'pdb.maxUnavailable=25%',
      '--set',
      'extraEnv[0].name=SHOAL_LOG_LEVEL,extraEnv[0].value=debug',
    ]);
    expect(result.code, result.stderr).toBe(0);
  });
});
