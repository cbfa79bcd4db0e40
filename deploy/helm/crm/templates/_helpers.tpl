{{/*
Shared named templates. Each per-service template builds a context and renders it with
crm.workload (Deployment + Service + PDB + HPA), adding only what is its own:

  {{ include "crm.workload" (dict "root" $ "name" "customers" "extraEnv" $env) }}

Optional context keys read by the helpers below:
  extraEnv           list of EnvVar objects specific to the service
  extraVolumes       list of Volume objects
  extraVolumeMounts  list of VolumeMount objects
  strategy           Deployment strategy object
*/}}

{{/* ---------------------------------------------------------------- names */}}

{{- define "crm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "crm.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of one component's objects (Deployment, Service, PDB, HPA): <fullname>-<service>. */}}
{{- define "crm.componentName" -}}
{{- printf "%s-%s" (include "crm.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "crm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "crm.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* ------------------------------------------------------------ constants */}}

{{/* Every gRPC deployable, comma-separated (use with splitList). */}}
{{- define "crm.grpcServices" -}}
identity,customers,tagging,followups,reporting,webhooks
{{- end }}

{{/* The gRPC services that keep a schema per tenant and are provisioned by identity. */}}
{{- define "crm.tenantServices" -}}
customers,tagging,followups,reporting,webhooks
{{- end }}

{{- define "crm.grpcPort" -}}50051{{- end }}
{{- define "crm.httpPort" -}}8000{{- end }}

{{/* global.publicUrl without a trailing slash (the gateway strips it too; the token issuer must match). */}}
{{- define "crm.publicUrl" -}}
{{- trimSuffix "/" .Values.global.publicUrl }}
{{- end }}

{{/* In-cluster host:port of a gRPC component. Context: root, name. */}}
{{- define "crm.addr" -}}
{{- printf "%s:%s" (include "crm.componentName" .) (include "crm.grpcPort" .) }}
{{- end }}

{{/* --------------------------------------------------------------- labels */}}

{{/* Context: root, optional name (component). Without name: every pod of the release. */}}
{{- define "crm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "crm.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .name }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "crm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "crm.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: crm
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/* --------------------------------------------------------------- image */}}

{{/* Per-service image fields override global.image; tag defaults to the chart's appVersion. */}}
{{- define "crm.image" -}}
{{- $g := .root.Values.global.image -}}
{{- $s := (index .root.Values .name).image | default dict -}}
{{- $registry := $s.registry | default $g.registry -}}
{{- $repository := $s.repository | default $g.repository -}}
{{- $ref := $repository -}}
{{- if $registry }}{{ $ref = printf "%s/%s" (trimSuffix "/" $registry) $repository }}{{ end -}}
{{- $digest := $s.digest | default $g.digest -}}
{{- if $digest -}}
{{- printf "%s@%s" $ref $digest -}}
{{- else -}}
{{- printf "%s:%s" $ref ($s.tag | default $g.tag | default .root.Chart.AppVersion | toString) -}}
{{- end -}}
{{- end }}

{{/* ------------------------------------------------------------- secrets */}}

{{/*
Name of the Secret holding one kind of secret value: the operator's existingSecret when set,
otherwise the chart's own Secret. Context: root, kind (app | postgres | nats | clickhouse).
*/}}
{{- define "crm.secretName" -}}
{{- $g := .root.Values.global -}}
{{- $existing := "" -}}
{{- if eq .kind "app" }}{{ $existing = $g.secrets.existingSecret }}
{{- else if eq .kind "postgres" }}{{ $existing = $g.postgres.existingSecret }}
{{- else if eq .kind "nats" }}{{ $existing = $g.nats.existingSecret }}
{{- else if eq .kind "clickhouse" }}{{ $existing = $g.clickhouse.existingSecret }}
{{- else }}{{ fail (printf "crm.secretName: unknown kind %q" .kind) }}
{{- end -}}
{{- default (include "crm.fullname" .root) $existing -}}
{{- end }}

{{/* An EnvVar that reads a Secret key, as a dict. Context: root, kind, env, key. */}}
{{- define "crm.secretEnv" -}}
{{- $ref := dict "name" (include "crm.secretName" .) "key" .key -}}
{{- toYaml (dict "name" .env "valueFrom" (dict "secretKeyRef" $ref)) -}}
{{- end }}

{{/* ------------------------------------------------------------ workload */}}

{{- define "crm.deploymentSpec" -}}
{{- $v := index .root.Values .name -}}
{{- if not $v.autoscaling.enabled }}
replicas: {{ $v.replicas }}
{{- end }}
revisionHistoryLimit: 5
selector:
  matchLabels:
    {{- include "crm.selectorLabels" . | nindent 4 }}
{{- with .strategy }}
strategy:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "crm.podMetadata" -}}
{{- $g := .root.Values.global -}}
labels:
  {{- include "crm.labels" . | nindent 2 }}
annotations:
  {{- /* Roll pods when connection settings or chart-managed secret inputs change. */}}
  checksum/config: {{ toJson (dict "secrets" $g.secrets "postgres" $g.postgres "nats" $g.nats "clickhouse" $g.clickhouse) | sha256sum }}
  {{- with $g.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* Pod-level fields shared by every deployable (everything except containers and volumes). */}}
{{- define "crm.podSpec" -}}
{{- $g := .root.Values.global -}}
serviceAccountName: {{ include "crm.serviceAccountName" .root }}
automountServiceAccountToken: false
{{- /* Service links would inject CRM_<SERVICE>_PORT=tcp://... and clash with our settings prefix. */}}
enableServiceLinks: false
terminationGracePeriodSeconds: {{ $g.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml $g.podSecurityContext | nindent 2 }}
{{- with $g.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $g.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $g.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $g.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $g.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $g.topologySpread }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "crm.selectorLabels" . | nindent 8 }}
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "crm.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end }}

{{/* The container, minus its name and env: image, args, ports, hardening, resources, probes, mounts. */}}
{{- define "crm.container" -}}
{{- $g := .root.Values.global -}}
{{- $v := index .root.Values .name -}}
image: {{ include "crm.image" . | quote }}
imagePullPolicy: {{ (($v.image | default dict).pullPolicy) | default $g.image.pullPolicy }}
{{- /* The image's entrypoint is `python -m`; args name the deployable's package. */}}
args: [{{ printf "crm_%s" .name | quote }}]
ports:
  {{- if eq .name "gateway" }}
  - name: http
    containerPort: {{ include "crm.httpPort" . }}
    protocol: TCP
  {{- else }}
  - name: grpc
    containerPort: {{ include "crm.grpcPort" . }}
    protocol: TCP
  {{- end }}
  {{- with .extraPorts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
securityContext:
  {{- toYaml $g.containerSecurityContext | nindent 2 }}
resources:
  {{- toYaml $v.resources | nindent 2 }}
{{ include "crm.probes" . }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  {{- with .extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/*
Startup, readiness and liveness probes: native gRPC probes against grpc.health.v1 for the gRPC
services, HTTP for the gateway (/healthz for liveness, /readyz for readiness). Timings come from
global.probes.
*/}}
{{- define "crm.probes" -}}
{{- $p := .root.Values.global.probes -}}
{{- $live := dict -}}
{{- $ready := dict -}}
{{- if eq .name "gateway" -}}
{{- $live = dict "httpGet" (dict "path" "/healthz" "port" "http") -}}
{{- $ready = dict "httpGet" (dict "path" "/readyz" "port" "http") -}}
{{- else -}}
{{- $live = dict "grpc" (dict "port" (include "crm.grpcPort" . | int)) -}}
{{- $ready = $live -}}
{{- end -}}
startupProbe:
  {{- toYaml (merge (dict) $live $p.startup) | nindent 2 }}
readinessProbe:
  {{- toYaml (merge (dict) $ready $p.readiness) | nindent 2 }}
livenessProbe:
  {{- toYaml (merge (dict) $live $p.liveness) | nindent 2 }}
{{- end }}

{{- define "crm.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .root.Values.global.tmpVolume.sizeLimit }}
{{- with .extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* ----------------------------------------------------------------- env */}}

{{/*
Environment of one deployable, in this order:
  1. what every gRPC service needs (CRM_<NAME>_GRPC_HOST, _GRPC_PORT, _DATABASE_URL, _NATS_URL,
     _PAGE_TOKEN_KEY, _IDENTITY_ADDR); the gateway gets _NATS_URL too (Idempotency-Key records);
  2. the service's own variables (context key extraEnv);
  3. what every deployable needs (CRM_<NAME>_TOKEN_ISSUER, _LOG_LEVEL, OTEL_*);
  4. global.env, then <service>.env; an entry there replaces a chart-managed variable of the same
     name. A value is a string, or an object used as valueFrom (e.g. {secretKeyRef: {...}}).
*/}}
{{- define "crm.env" -}}
{{- $root := .root -}}
{{- $g := $root.Values.global -}}
{{- $v := index $root.Values .name -}}
{{- $prefix := printf "CRM_%s_" (upper .name) -}}
{{- $env := list -}}
{{- if ne .name "gateway" -}}
{{- /* The services bind 127.0.0.1 unless told otherwise; probes and peers reach the pod IP. */ -}}
{{- $env = append $env (dict "name" (print $prefix "GRPC_HOST") "value" "0.0.0.0") -}}
{{- $env = append $env (dict "name" (print $prefix "GRPC_PORT") "value" (include "crm.grpcPort" .)) -}}
{{- $env = append $env (include "crm.secretEnv" (dict "root" $root "kind" "postgres" "env" (print $prefix "DATABASE_URL") "key" (printf "%s-database-url" .name)) | fromYaml) -}}
{{- end -}}
{{- /* Every deployable: the services' events, the gateway's Idempotency-Key records. */ -}}
{{- if $g.nats.existingSecret -}}
{{- $env = append $env (include "crm.secretEnv" (dict "root" $root "kind" "nats" "env" (print $prefix "NATS_URL") "key" $g.nats.existingSecretKey) | fromYaml) -}}
{{- else -}}
{{- $env = append $env (dict "name" (print $prefix "NATS_URL") "value" $g.nats.url) -}}
{{- end -}}
{{- if ne .name "gateway" -}}
{{- /* One key on every replica of every service, so list page tokens survive load balancing. */ -}}
{{- $env = append $env (include "crm.secretEnv" (dict "root" $root "kind" "app" "env" (print $prefix "PAGE_TOKEN_KEY") "key" "page-token-key") | fromYaml) -}}
{{- if ne .name "identity" -}}
{{- $env = append $env (dict "name" (print $prefix "IDENTITY_ADDR") "value" (include "crm.addr" (dict "root" $root "name" "identity"))) -}}
{{- end -}}
{{- end -}}
{{- range .extraEnv -}}
{{- $env = append $env . -}}
{{- end -}}
{{- /* Identity issues access tokens with this issuer; every deployable verifies it. */ -}}
{{- $env = append $env (dict "name" (print $prefix "TOKEN_ISSUER") "value" (include "crm.publicUrl" $root)) -}}
{{- $env = append $env (dict "name" (print $prefix "LOG_LEVEL") "value" $g.logLevel) -}}
{{- $env = append $env (dict "name" "OTEL_SERVICE_NAME" "value" (printf "crm-%s" .name)) -}}
{{- with $g.otelExporterOtlpEndpoint -}}
{{- $env = append $env (dict "name" "OTEL_EXPORTER_OTLP_ENDPOINT" "value" .) -}}
{{- end -}}
{{- $user := merge (dict) ($v.env | default dict) ($g.env | default dict) -}}
{{- $out := list -}}
{{- range $env -}}
{{- if not (hasKey $user .name) }}{{ $out = append $out . }}{{ end -}}
{{- end -}}
{{- range $name := keys $user | sortAlpha -}}
{{- $value := get $user $name -}}
{{- if kindIs "map" $value -}}
{{- $out = append $out (dict "name" $name "valueFrom" $value) -}}
{{- else -}}
{{- $out = append $out (dict "name" $name "value" (toString $value)) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end }}

{{/* -------------------------------------------------------- Service, PDB, HPA */}}

{{- define "crm.service" -}}
{{- $v := index .root.Values .name -}}
{{- $svc := $v.service | default dict -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "crm.componentName" . }}
  labels:
    {{- include "crm.labels" . | nindent 4 }}
  {{- with $svc.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $svc.type | default "ClusterIP" }}
  selector:
    {{- include "crm.selectorLabels" . | nindent 4 }}
  ports:
    {{- if eq .name "gateway" }}
    - name: http
      port: {{ include "crm.httpPort" . }}
      targetPort: http
      protocol: TCP
      appProtocol: http
    {{- else }}
    - name: grpc
      port: {{ include "crm.grpcPort" . }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
    {{- end }}
{{- end }}

{{/* A PodDisruptionBudget when more than one replica is guaranteed. */}}
{{- define "crm.pdb" -}}
{{- $v := index .root.Values .name -}}
{{- $min := $v.replicas -}}
{{- if $v.autoscaling.enabled }}{{ $min = $v.autoscaling.minReplicas }}{{ end -}}
{{- if gt (int $min) 1 }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "crm.componentName" . }}
  labels:
    {{- include "crm.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "crm.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{- define "crm.hpa" -}}
{{- $a := (index .root.Values .name).autoscaling -}}
{{- if $a.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "crm.componentName" . }}
  labels:
    {{- include "crm.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "crm.componentName" . }}
  minReplicas: {{ $a.minReplicas }}
  maxReplicas: {{ $a.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $a.targetCPUUtilizationPercentage }}
    {{- with $a.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
{{- end }}
{{- end }}

{{/* ------------------------------------------------------ network policy */}}

{{/* One egress rule from {ports, to}; an empty `to` means any destination on those ports. */}}
{{- define "crm.egressRule" -}}
{{- with .ports }}
ports:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .to }}
to:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if not (or .ports .to) }}
{{- fail "a networkPolicy egress rule needs ports or to (an empty rule would allow all egress)" }}
{{- end }}
{{- end }}

{{/* A peer selecting pods of this release, optionally only some components. */}}
{{- define "crm.podPeer" -}}
podSelector:
  matchLabels:
    {{- include "crm.selectorLabels" (dict "root" .root) | nindent 4 }}
  {{- with .components }}
  matchExpressions:
    - key: app.kubernetes.io/component
      operator: In
      values:
        {{- toYaml . | nindent 8 }}
  {{- end }}
{{- end }}

{{/* Deployment + Service + PDB + HPA skeleton shared by every per-service template. */}}
{{- define "crm.workload" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "crm.componentName" . }}
  labels:
    {{- include "crm.labels" . | nindent 4 }}
spec:
  {{- include "crm.deploymentSpec" . | trim | nindent 2 }}
  template:
    metadata:
      {{- include "crm.podMetadata" . | nindent 6 }}
    spec:
      {{- include "crm.podSpec" . | nindent 6 }}
      containers:
        - name: {{ .name }}
          {{- include "crm.container" . | nindent 10 }}
          env:
            {{- include "crm.env" . | nindent 12 }}
      volumes:
        {{- include "crm.volumes" . | nindent 8 }}
---
{{ include "crm.service" . }}
{{- include "crm.pdb" . }}
{{- include "crm.hpa" . }}
{{- end }}
