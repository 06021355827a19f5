// Monitoring: the PrometheusRule's alerts (checked and unit-tested by the real promtool), the
// Grafana dashboard's queries, and deploy/prometheus-scrape.yaml against the chart's pods.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CHART_DIR, REPO_ROOT, only, render, type K8sObject } from './helm.js';
import { runPromtool } from './promtool.js';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe('PrometheusRule', () => {
  let rule: K8sObject;
  let rulesFile: string;
  beforeAll(async () => {
    const objects = await render({ set: ['metrics.prometheusRule.enabled=true'] });
    rule = only(objects, 'PrometheusRule', 'shoal');
    rulesFile = stringify(rule['spec']);
  });

  it('holds the five shoal alerts, selecting the release job', () => {
    const rules = rule['spec'].groups[0].rules as Rule[];
    expect(rules.map((r) => [r.alert, r.expr, r.for])).toEqual([
      ['ShoalNodeDown', 'up{job="shoal"} == 0', '2m'],
      [
        'ShoalMembersNotAlive',
        'shoal_cluster_members{job="shoal", state=~"suspect|dead"} > 0',
        '5m',
      ],
      [
        'ShoalQuorumFailures',
        'sum by (namespace, job, op) (rate(shoal_replication_requests_total{job="shoal", outcome="unavailable"}[5m])) > 0',
        '2m',
      ],
      ['ShoalHintsPilingUp', 'shoal_hints_pending{job="shoal"} > 1000', '15m'],
      [
        'ShoalBackgroundTaskFailing',
        'sum by (namespace, job, instance, pod, task) (rate(shoal_background_errors_total{job="shoal"}[10m])) > 0',
        '30m',
      ],
    ]);
    for (const r of rules) expect(['critical', 'warning']).toContain(r.labels?.['severity']);
  });

  it('passes promtool check rules', async () => {
    const result = await runPromtool(['check', 'rules', 'rules.yaml'], { 'rules.yaml': rulesFile });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/SUCCESS: 5 rules found/);
  });

  it('passes promtool check rules with extra rules and another job name', async () => {
    const objects = await render({ valuesFiles: ['all-features.yaml'] });
    const spec = only(objects, 'PrometheusRule')['spec'];
    const exprs = (spec.groups[0].rules as Rule[]).map((r) => r.expr);
    expect(exprs[0]).toBe('up{job="kv-nodes"} == 0');
    const result = await runPromtool(['check', 'rules', 'rules.yaml'], {
      'rules.yaml': stringify(spec),
    });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/SUCCESS: 6 rules found/);
  });

  it('fires each alert when it should and not otherwise (promtool test rules)', async () => {
    /** A shoal pod's target labels, as an alert carries them. */
    const podLabels = (n: number): Record<string, string> => ({
      job: 'shoal',
      instance: `10.244.1.${n}:8080`,
      pod: `shoal-${n}`,
    });
    /** The same labels as a series selector. */
    const pod = (n: number): string =>
      Object.entries(podLabels(n))
        .map(([name, value]) => `${name}="${value}"`)
        .join(', ');
    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // shoal-0 stops answering scrapes at minute 2; another job's target is down too.
            { series: `up{${pod(0)}}`, values: '1 1 0x10' },
            { series: `up{${pod(1)}}`, values: '1x12' },
            { series: 'up{job="other", instance="10.0.0.9:80"}', values: '0x12' },
          ],
          alert_rule_test: [
            { eval_time: '3m', alertname: 'ShoalNodeDown', exp_alerts: [] },
            {
              eval_time: '5m',
              alertname: 'ShoalNodeDown',
              exp_alerts: [
                {
                  exp_labels: {
                    severity: 'critical',
                    ...podLabels(0),
                  },
                  exp_annotations: {
                    summary: 'shoal node 10.244.1.0:8080 is down',
                    description:
                      'Prometheus has not scraped 10.244.1.0:8080 (job shoal) for 2 minutes. ' +
                      'Its keys are still served by their other replicas (replication factor 3), ' +
                      'but fewer further failures now make quorum requests fail.',
                  },
                },
              ],
            },
          ],
        },
        {
          interval: '1m',
          input_series: [
            // After a scale-down the left member stays "left": not a failure.
            { series: `shoal_cluster_members{${pod(1)}, state="left"}`, values: '1x20' },
            { series: `shoal_cluster_members{${pod(1)}, state="alive"}`, values: '2x20' },
            { series: `shoal_cluster_members{${pod(1)}, state="suspect"}`, values: '0x20' },
            // shoal-2 sees a dead member from minute 0.
            { series: `shoal_cluster_members{${pod(2)}, state="dead"}`, values: '1x20' },
          ],
          alert_rule_test: [
            { eval_time: '4m', alertname: 'ShoalMembersNotAlive', exp_alerts: [] },
            {
              eval_time: '6m',
              alertname: 'ShoalMembersNotAlive',
              exp_alerts: [
                {
                  exp_labels: {
                    severity: 'warning',
                    ...podLabels(2),
                    state: 'dead',
                  },
                  exp_annotations: {
                    summary: 'shoal node 10.244.1.2:8080 sees 1 dead members',
                    description:
                      'A member has been suspect or dead for 5 minutes. If the pod is gone for ' +
                      'good, remove it with DELETE /v1/cluster/members/NAME.',
                  },
                },
              ],
            },
          ],
        },
        {
          interval: '1m',
          input_series: [
            // 10 unavailable puts a minute on one node; gets always succeed.
            {
              series: `shoal_replication_requests_total{${pod(0)}, op="put", consistency="quorum", outcome="unavailable"}`,
              values: '0+10x20',
            },
            {
              series: `shoal_replication_requests_total{${pod(0)}, op="get", consistency="quorum", outcome="ok"}`,
              values: '0+100x20',
            },
            {
              series: `shoal_replication_requests_total{${pod(0)}, op="get", consistency="quorum", outcome="unavailable"}`,
              values: '0x20',
            },
          ],
          alert_rule_test: [
            {
              eval_time: '10m',
              alertname: 'ShoalQuorumFailures',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', job: 'shoal', op: 'put' },
                  exp_annotations: {
                    summary: 'shoal put requests fail for lack of replicas',
                    description:
                      'Requests are answered 503 QUORUM_UNAVAILABLE (0.17/s): fewer replicas ' +
                      'than the consistency level needs are reachable.',
                  },
                },
              ],
            },
          ],
        },
        {
          interval: '1m',
          input_series: [
            { series: `shoal_hints_pending{${pod(0)}}`, values: '2000x30' },
            { series: `shoal_hints_pending{${pod(1)}}`, values: '500x30' },
          ],
          alert_rule_test: [
            { eval_time: '14m', alertname: 'ShoalHintsPilingUp', exp_alerts: [] },
            {
              eval_time: '16m',
              alertname: 'ShoalHintsPilingUp',
              exp_alerts: [
                {
                  exp_labels: {
                    severity: 'warning',
                    ...podLabels(0),
                  },
                  exp_annotations: {
                    summary: 'shoal node 10.244.1.0:8080 holds 2000 undelivered hints',
                    description:
                      'Writes for an unreachable replica have been queuing as hints for 15 ' +
                      'minutes; the replica is down or cut off from this node.',
                  },
                },
              ],
            },
          ],
        },
        {
          interval: '1m',
          input_series: [
            // shoal-0's anti-entropy fails 30 times a minute throughout; shoal-1's failed for
            // 3 minutes (a peer restarting) and then no more.
            {
              series: `shoal_background_errors_total{${pod(0)}, task="anti-entropy"}`,
              values: '0+30x60',
            },
            {
              series: `shoal_background_errors_total{${pod(1)}, task="anti-entropy"}`,
              values: '0+30x3 90x57',
            },
            {
              series: `shoal_background_errors_total{${pod(0)}, task="hint-delivery"}`,
              values: '0x60',
            },
          ],
          alert_rule_test: [
            { eval_time: '25m', alertname: 'ShoalBackgroundTaskFailing', exp_alerts: [] },
            {
              eval_time: '45m',
              alertname: 'ShoalBackgroundTaskFailing',
              exp_alerts: [
                {
                  exp_labels: {
                    severity: 'warning',
                    ...podLabels(0),
                    task: 'anti-entropy',
                  },
                  exp_annotations: {
                    summary: 'shoal node 10.244.1.0:8080: anti-entropy keeps failing',
                    description:
                      'Runs of anti-entropy have failed for 30 minutes (0.50/s). Replicas may ' +
                      "not be converging; the node's log names the error once a minute.",
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const result = await runPromtool(['test', 'rules', 'tests.yaml'], {
      'rules.yaml': rulesFile,
      'tests.yaml': stringify(tests),
    });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/SUCCESS/);
  });
});

describe('Grafana dashboard', () => {
  interface Panel {
    id: number;
    type: string;
    title: string;
    gridPos?: { x: number; y: number; w: number; h: number };
    targets?: { expr: string; refId: string }[];
  }
  const dashboard = JSON.parse(
    readFileSync(join(CHART_DIR, 'dashboards', 'shoal.json'), 'utf8'),
  ) as { uid: string; title: string; panels: Panel[]; templating: { list: { name: string }[] } };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it('has panels for requests and latency by route, members by state, keys and hints', () => {
    const byTitle = (title: string): string[] => {
      const panel = dashboard.panels.find((p) => p.title === title);
      if (!panel) throw new Error(`no panel "${title}"`);
      return (panel.targets ?? []).map((t) => t.expr);
    };
    expect(byTitle('Request rate by route')[0]).toMatch(
      /sum by \(method, route\) \(rate\(shoal_http_requests_total\{/,
    );
    expect(byTitle('Latency p99 by route')[0]).toMatch(
      /histogram_quantile\(0\.99, sum by \(method, route, le\) \(rate\(shoal_http_request_duration_seconds_bucket\{/,
    );
    expect(byTitle('Members by state')[0]).toMatch(/by \(state\) \(shoal_cluster_members\{/);
    expect(byTitle('Keys by node')[0]).toMatch(/shoal_store_keys\{/);
    expect(byTitle('Hints pending by node')[0]).toMatch(/shoal_hints_pending\{/);
  });

  it('lays out uniquely numbered panels, every query filtered by the namespace and job variables', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual([
      'datasource',
      'namespace',
      'job',
    ]);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos, panel.title).toBeDefined();
      if (panel.type !== 'row') expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
    for (const expr of exprs) expect(expr).toContain('namespace=~"$namespace", job=~"$job"');
  });

  it('queries only valid PromQL (promtool check rules on the queries as recording rules)', async () => {
    const rules = exprs.map((expr, i) => ({
      record: `shoal_dashboard:query_${i}`,
      // Grafana fills these in before Prometheus sees the query.
      expr: expr
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$namespace', '.*')
        .replaceAll('$job', '.*'),
    }));
    const result = await runPromtool(['check', 'rules', 'dashboard.yaml'], {
      'dashboard.yaml': stringify({ groups: [{ name: 'dashboard', rules }] }),
    });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});

describe('deploy/prometheus-scrape.yaml', () => {
  interface RelabelConfig {
    source_labels?: string[];
    separator?: string;
    regex?: string;
    target_label?: string;
    replacement?: string;
    action?: string;
  }
  interface ScrapeConfig {
    job_name: string;
    kubernetes_sd_configs?: { role: string }[];
    static_configs?: { targets: string[] }[];
    relabel_configs: RelabelConfig[];
  }
  const text = readFileSync(join(REPO_ROOT, 'deploy', 'prometheus-scrape.yaml'), 'utf8');
  const config = parse(text) as { scrape_configs: ScrapeConfig[] };
  const job = config.scrape_configs[0] as ScrapeConfig;

  /** Prometheus' relabelling for the actions the file uses (regexes are fully anchored). */
  function relabel(labels: Record<string, string>): Record<string, string> | undefined {
    const out = { ...labels };
    for (const step of job.relabel_configs) {
      const value = (step.source_labels ?? []).map((l) => out[l] ?? '').join(step.separator ?? ';');
      const regex = new RegExp(`^(?:${step.regex ?? '(.*)'})$`);
      const match = regex.exec(value);
      const action = step.action ?? 'replace';
      if (action === 'keep' && !match) return undefined;
      if (action === 'drop' && match) return undefined;
      if (action === 'replace' && match && step.target_label) {
        const result = (step.replacement ?? '$1').replace(
          /\$\{?(\d+)\}?/g,
          (_m, n: string) => match[Number(n)] ?? '',
        );
        if (result === '') delete out[step.target_label];
        else out[step.target_label] = result;
      }
    }
    return out;
  }

  /** The targets the pod role discovers for a rendered pod template: one per container port. */
  function podTargets(template: K8sObject, podName: string, ip: string): Record<string, string>[] {
    const meta: Record<string, string> = {
      __meta_kubernetes_namespace: 'default',
      __meta_kubernetes_pod_name: podName,
      __meta_kubernetes_pod_ip: ip,
    };
    const sanitize = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_');
    for (const [k, v] of Object.entries(template.metadata.labels ?? {}))
      meta[`__meta_kubernetes_pod_label_${sanitize(k)}`] = v;
    for (const [k, v] of Object.entries(
      (template.metadata['annotations'] ?? {}) as Record<string, string>,
    ))
      meta[`__meta_kubernetes_pod_annotation_${sanitize(k)}`] = v;
    return (template['spec'].containers as K8sObject[]).flatMap((c) =>
      (c['ports'] as K8sObject[]).map((p) => ({
        ...meta,
        __address__: `${ip}:${p['containerPort']}`,
        __metrics_path__: '/metrics',
        __meta_kubernetes_pod_container_port_name: p['name'] as string,
        __meta_kubernetes_pod_container_port_protocol: p['protocol'] as string,
      })),
    );
  }

  it('discovers pods through the Kubernetes API under the job name the alerts select', async () => {
    expect(job.kubernetes_sd_configs?.[0]?.role).toBe('pod');
    const objects = await render({ set: ['metrics.prometheusRule.enabled=true'] });
    const alert = (only(objects, 'PrometheusRule')['spec'].groups[0].rules as Rule[])[0];
    expect(alert?.expr).toBe(`up{job="${job.job_name}"} == 0`);
  });

  it('keeps exactly the HTTP port of each shoal pod, at the annotated path', async () => {
    const sts = only(await render(), 'StatefulSet');
    const template = sts['spec'].template as K8sObject;
    const kept = podTargets(template, 'shoal-0', '10.244.1.5')
      .map(relabel)
      .filter((t) => t !== undefined);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({
      __address__: '10.244.1.5:8080',
      __metrics_path__: '/metrics',
      namespace: 'default',
      pod: 'shoal-0',
      release: 'shoal',
    });
    // Another application's pod, and a shoal pod with scraping switched off, are dropped.
    const other = { ...template, metadata: { ...template.metadata, labels: { app: 'web' } } };
    expect(podTargets(other as K8sObject, 'web-0', '10.244.1.6').map(relabel)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    const quiet = await render({ set: ['metrics.podAnnotations=false'] });
    const quietTemplate = only(quiet, 'StatefulSet')['spec'].template as K8sObject;
    expect(podTargets(quietTemplate, 'shoal-0', '10.244.1.5').map(relabel).filter(Boolean)).toEqual(
      [],
    );
  });

  it('passes promtool check config (with static targets for the Kubernetes discovery)', async () => {
    // Debian's promtool is built without Kubernetes discovery; everything else is checked.
    const checked = structuredClone(config);
    for (const scrape of checked.scrape_configs) {
      delete scrape.kubernetes_sd_configs;
      scrape.static_configs = [{ targets: ['10.244.1.5:8080'] }];
    }
    const result = await runPromtool(['check', 'config', 'prometheus.yml'], {
      'prometheus.yml': stringify(checked),
    });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/SUCCESS/);
  });
});
