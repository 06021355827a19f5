// Validates rendered objects the way the API server would reject them: each built-in kind
// against the Kubernetes OpenAPI schema (npm kubernetes-models), names and labels against
// Kubernetes' syntax rules, and the prometheus-operator kinds (no models exist for them)
// against the fields their CRDs require.

import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { K8sObject } from './helm.js';

interface Validatable {
  validate(): void;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ModelClass = new (data: any) => Validatable;

const MODELS: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Pod': Pod,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_PART_CHARS_MAX = 63;
const NAME_CHARS_MAX = 253;
/** Prometheus duration as the operator's CRDs pattern it. */
const PROMETHEUS_DURATION =
  /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;
const RELABEL_ACTIONS = [
  'replace',
  'keep',
  'drop',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
  'keepequal',
  'dropequal',
];

function fail(object: K8sObject, message: string): never {
  throw new Error(`${object.kind} ${object.metadata?.name ?? '?'}: ${message}`);
}

function checkLabelKey(object: K8sObject, key: string): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > NAME_CHARS_MAX || !DNS1123_SUBDOMAIN.test(prefix)))
    fail(object, `label or annotation key "${key}" has a bad prefix`);
  if (name.length > LABEL_PART_CHARS_MAX || !LABEL_NAME.test(name))
    fail(object, `label or annotation key "${key}" has a bad name`);
}

function checkLabels(object: K8sObject, labels: unknown, where: string): void {
  if (labels === undefined) return;
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    checkLabelKey(object, key);
    if (typeof value !== 'string') fail(object, `${where} label ${key} is not a string`);
    if (value.length > LABEL_PART_CHARS_MAX || !LABEL_VALUE.test(value))
      fail(object, `${where} label ${key}="${value}" is not a valid label value`);
  }
}

function checkAnnotations(object: K8sObject, annotations: unknown): void {
  if (annotations === undefined) return;
  for (const [key, value] of Object.entries(annotations as Record<string, unknown>)) {
    checkLabelKey(object, key);
    if (typeof value !== 'string') fail(object, `annotation ${key} is not a string`);
  }
}

/** Object names, labels and annotations as the API server's validation checks them. */
function checkMetadata(object: K8sObject): void {
  const name = object.metadata?.name;
  if (typeof name !== 'string' || name.length > NAME_CHARS_MAX || !DNS1123_SUBDOMAIN.test(name))
    fail(object, `metadata.name "${String(name)}" is not a DNS-1123 subdomain`);
  // Services (their names become DNS labels) and StatefulSets (pod names and the
  // controller-revision-hash label derive from them) need a 63-character DNS label.
  if (
    object.kind === 'Service' &&
    (name.length > LABEL_PART_CHARS_MAX || !DNS1035_LABEL.test(name))
  )
    fail(object, `Service name "${name}" is not a DNS-1035 label`);
  if (
    object.kind === 'StatefulSet' &&
    (name.length > LABEL_PART_CHARS_MAX - 11 || !DNS1123_LABEL.test(name))
  )
    fail(object, `StatefulSet name "${name}" leaves no room for the revision hash label`);
  checkLabels(object, object.metadata.labels, 'metadata');
  checkAnnotations(object, object.metadata['annotations']);
  const template = object['spec']?.template;
  if (template) {
    checkLabels(object, template.metadata?.labels, 'pod template');
    checkAnnotations(object, template.metadata?.annotations);
  }
}

function isStringMap(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

function checkRelabelings(object: K8sObject, list: unknown, where: string): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) fail(object, `${where} is not a list`);
  for (const rule of list as Record<string, unknown>[]) {
    const action = (rule['action'] as string | undefined) ?? 'replace';
    if (!RELABEL_ACTIONS.includes(action.toLowerCase()))
      fail(object, `${where}: unknown action ${action}`);
    if (action === 'replace' && typeof rule['targetLabel'] !== 'string')
      fail(object, `${where}: replace needs targetLabel`);
  }
}

/** monitoring.coreos.com/v1 ServiceMonitor: the fields its CRD requires and types. */
function checkServiceMonitor(object: K8sObject): void {
  const spec = object['spec'];
  if (typeof spec?.selector !== 'object') fail(object, 'spec.selector is required');
  if (!Array.isArray(spec.endpoints) || spec.endpoints.length === 0)
    fail(object, 'spec.endpoints must list at least one endpoint');
  const names = spec.namespaceSelector?.matchNames;
  if (names !== undefined && !(Array.isArray(names) && names.every((n) => typeof n === 'string')))
    fail(object, 'spec.namespaceSelector.matchNames must be a list of strings');
  for (const endpoint of spec.endpoints as Record<string, unknown>[]) {
    if (typeof endpoint['port'] !== 'string' && endpoint['targetPort'] === undefined)
      fail(object, 'an endpoint needs port (a Service port name) or targetPort');
    for (const field of ['interval', 'scrapeTimeout']) {
      const value = endpoint[field];
      if (value !== undefined && !(typeof value === 'string' && PROMETHEUS_DURATION.test(value)))
        fail(object, `endpoint ${field} "${String(value)}" is not a duration`);
    }
    if (endpoint['honorLabels'] !== undefined && typeof endpoint['honorLabels'] !== 'boolean')
      fail(object, 'endpoint honorLabels must be a boolean');
    checkRelabelings(object, endpoint['relabelings'], 'relabelings');
    checkRelabelings(object, endpoint['metricRelabelings'], 'metricRelabelings');
  }
}

/** monitoring.coreos.com/v1 PrometheusRule: the fields its CRD requires and types. */
function checkPrometheusRule(object: K8sObject): void {
  const groups = object['spec']?.groups;
  if (!Array.isArray(groups) || groups.length === 0) fail(object, 'spec.groups is required');
  const groupNames = new Set<string>();
  for (const group of groups as Record<string, unknown>[]) {
    const name = group['name'];
    if (typeof name !== 'string' || name.length === 0) fail(object, 'a group needs a name');
    if (groupNames.has(name)) fail(object, `group ${name} appears twice`);
    groupNames.add(name);
    if (!Array.isArray(group['rules'])) fail(object, `group ${name}: rules must be a list`);
    for (const rule of group['rules'] as Record<string, unknown>[]) {
      const isAlert = typeof rule['alert'] === 'string';
      const isRecord = typeof rule['record'] === 'string';
      if (isAlert === isRecord)
        fail(object, `a rule of ${name} needs exactly one of alert, record`);
      if (typeof rule['expr'] !== 'string' && typeof rule['expr'] !== 'number')
        fail(object, `rule ${String(rule['alert'] ?? rule['record'])}: expr is required`);
      if (rule['for'] !== undefined && !PROMETHEUS_DURATION.test(String(rule['for'])))
        fail(object, `rule ${String(rule['alert'])}: "for" is not a duration`);
      for (const field of ['labels', 'annotations'])
        if (rule[field] !== undefined && !isStringMap(rule[field]))
          fail(
            object,
            `rule ${String(rule['alert'] ?? rule['record'])}: ${field} must map strings`,
          );
    }
  }
}

/** Throws a descriptive error when the API server would reject `object`. */
export function validateObject(object: K8sObject): void {
  checkMetadata(object);
  if (object.apiVersion === 'monitoring.coreos.com/v1') {
    if (object.kind === 'ServiceMonitor') return checkServiceMonitor(object);
    if (object.kind === 'PrometheusRule') return checkPrometheusRule(object);
  }
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) fail(object, `no schema for ${object.apiVersion} ${object.kind}; add its model`);
  try {
    new Model(object).validate();
  } catch (err) {
    fail(object, `does not match the Kubernetes schema: ${(err as Error).message}`);
  }
}
