{{/*
Chart name, shortened to 63 characters (the limit of a DNS label).
*/}}
{{- define "shoal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name: "<release>-<chart>", or the release name when it already contains the
chart name. Truncated to 52 characters so "<fullname>-headless" and the StatefulSet's
controller-revision-hash label (name + 11 characters) stay within 63.
*/}}
{{- define "shoal.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "shoal.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "shoal.labels" -}}
helm.sh/chart: {{ include "shoal.chart" . }}
{{ include "shoal.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: shoal
{{- end }}

{{/*
Selector labels: the pods of one release. Never change them: a StatefulSet's selector is
immutable.
*/}}
{{- define "shoal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shoal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The headless Service the nodes discover each other by (SRV _gossip._udp.<name>).
*/}}
{{- define "shoal.headlessServiceName" -}}
{{- printf "%s-headless" (include "shoal.fullname" .) }}
{{- end }}

{{/*
The name SHOAL_DISCOVERY_DNS resolves; $(POD_NAMESPACE) is expanded by the kubelet, so the
rendered manifests work in any namespace.
*/}}
{{- define "shoal.discoveryDns" -}}
{{- printf "%s.$(POD_NAMESPACE).svc.%s" (include "shoal.headlessServiceName" .) .Values.clusterDomain }}
{{- end }}

{{/*
The ServiceAccount the pods run as.
*/}}
{{- define "shoal.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "shoal.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The cluster label on every peer packet.
*/}}
{{- define "shoal.clusterName" -}}
{{- default (include "shoal.fullname" .) .Values.config.clusterName }}
{{- end }}

{{/*
The Prometheus job label of shoal's targets.
*/}}
{{- define "shoal.metricsJob" -}}
{{- default (include "shoal.fullname" .) .Values.metrics.jobName }}
{{- end }}

{{/*
An image reference from {registry, repository, tag, digest}; pass (dict "image" ... "default" tag).
*/}}
{{- define "shoal.imageRef" -}}
{{- $image := .image }}
{{- $ref := $image.repository }}
{{- if $image.registry }}
{{- $ref = printf "%s/%s" $image.registry $image.repository }}
{{- end }}
{{- if $image.digest }}
{{- printf "%s@%s" $ref $image.digest }}
{{- else }}
{{- printf "%s:%s" $ref (default .default $image.tag | toString) }}
{{- end }}
{{- end }}

{{- define "shoal.image" -}}
{{- include "shoal.imageRef" (dict "image" .Values.image "default" .Chart.AppVersion) }}
{{- end }}

{{/*
Gossip encryption: the Secret that holds the keys, and whether the chart generates it.
*/}}
{{- define "shoal.gossipSecretName" -}}
{{- default (printf "%s-gossip" (include "shoal.fullname" .)) .Values.gossip.encryption.existingSecret }}
{{- end }}

{{/*
The generated gossip key, base64 of 32 random bytes (AES-256), already base64-encoded once
more for a Secret's data. An existing Secret's key is reused, so an upgrade never changes it
(`helm template` and dry runs cannot see the cluster and show a fresh key). Computed once per
render and remembered in .Release (a map Helm builds afresh for every render and shares among
the templates), so the Secret and the StatefulSet's checksum annotation agree.
*/}}
{{- define "shoal.gossipGeneratedKeyData" -}}
{{- $memo := .Release }}
{{- if not (hasKey $memo "shoalGossipKeyData") }}
{{- $keyData := "" }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "shoal.gossipSecretName" .) }}
{{- if and $existing $existing.data }}
{{- $keyData = index $existing.data .Values.gossip.encryption.secretKey | default "" }}
{{- end }}
{{- if not $keyData }}
{{- $keyData = randBytes 32 | b64enc }}
{{- end }}
{{- $_ := set $memo "shoalGossipKeyData" $keyData }}
{{- end }}
{{- index $memo "shoalGossipKeyData" }}
{{- end }}

{{/*
Checksum of the gossip keys, as a pod annotation: pods roll when the keys change. For an
existing Secret the chart can only see it at install/upgrade time (lookup); `helm template`
sees nothing and hashes the Secret's name.
*/}}
{{- define "shoal.gossipChecksum" -}}
{{- if .Values.gossip.encryption.existingSecret }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace .Values.gossip.encryption.existingSecret }}
{{- $data := "" }}
{{- if and $existing $existing.data }}
{{- $data = index $existing.data .Values.gossip.encryption.secretKey | default "" }}
{{- end }}
{{- printf "%s/%s/%s" .Values.gossip.encryption.existingSecret .Values.gossip.encryption.secretKey $data | sha256sum }}
{{- else }}
{{- include "shoal.gossipGeneratedKeyData" . | sha256sum }}
{{- end }}
{{- end }}

{{/*
Mount path of the gossip Secret in the shoal container.
*/}}
{{- define "shoal.gossipKeysDir" -}}
/etc/shoal/gossip
{{- end }}

{{/*
Pod anti-affinity from podAntiAffinityPreset.
*/}}
{{- define "shoal.podAntiAffinity" -}}
{{- if eq .Values.podAntiAffinityPreset "soft" }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "shoal.selectorLabels" . | nindent 12 }}
{{- else if eq .Values.podAntiAffinityPreset "hard" }}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "shoal.selectorLabels" . | nindent 10 }}
{{- end }}
{{- end }}
