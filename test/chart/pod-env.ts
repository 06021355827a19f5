// The environment a container of a rendered pod spec would see: the kubelet's rules for the
// downward API (fieldRef) and for $(VAR) references to variables defined earlier in the list.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EnvVar = { name: string; value?: string; valueFrom?: any };

export interface PodFacts {
  name: string;
  namespace: string;
  podIP: string;
}

function fieldValue(path: string, pod: PodFacts): string {
  switch (path) {
    case 'metadata.name':
      return pod.name;
    case 'metadata.namespace':
      return pod.namespace;
    case 'status.podIP':
      return pod.podIP;
    default:
      throw new Error(`fieldRef ${path} is not simulated`);
  }
}

/** $(NAME) expands to an earlier variable's value; $$ is a literal $; unknown names stay. */
function expand(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g,
    (match, name: string | undefined) => {
      if (match === '$$') return '$';
      return name !== undefined && name in env ? (env[name] as string) : match;
    },
  );
}

/**
 * Resolves a container's env list in order. Secret and ConfigMap references resolve through
 * `refs` ("secret/NAME/KEY" or "configmap/NAME/KEY"); any other source is an error.
 */
export function containerEnv(
  list: EnvVar[],
  pod: PodFacts,
  refs: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of list) {
    if (entry.valueFrom === undefined) {
      env[entry.name] = expand(entry.value ?? '', env);
    } else if (entry.valueFrom.fieldRef) {
      env[entry.name] = fieldValue(entry.valueFrom.fieldRef.fieldPath as string, pod);
    } else {
      const ref = entry.valueFrom.secretKeyRef
        ? `secret/${entry.valueFrom.secretKeyRef.name}/${entry.valueFrom.secretKeyRef.key}`
        : entry.valueFrom.configMapKeyRef
          ? `configmap/${entry.valueFrom.configMapKeyRef.name}/${entry.valueFrom.configMapKeyRef.key}`
          : undefined;
      if (ref === undefined || !(ref in refs))
        throw new Error(`env ${entry.name}: source ${JSON.stringify(entry.valueFrom)} unknown`);
      env[entry.name] = refs[ref] as string;
    }
  }
  return env;
}
