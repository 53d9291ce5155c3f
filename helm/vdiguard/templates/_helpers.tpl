{{/*
Names, labels and the pieces every workload shares. Kept small: each template reads top to bottom.
*/}}

{{/* The chart's name, overridable. */}}
{{- define "vdiguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object's name: RELEASE-vdiguard, or the release name when it already holds the chart's name. */}}
{{- define "vdiguard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "vdiguard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "vdiguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vdiguard
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: include with (dict "context" $ "component" "gateway"). */}}
{{- define "vdiguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vdiguard.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Annotations of every object (commonAnnotations), as a block to nindent. */}}
{{- define "vdiguard.annotations" -}}
{{- with .Values.commonAnnotations }}
{{- toYaml . }}
{{- end }}
{{- end -}}

{{/* registry/repository:tag or @digest, from an image block. */}}
{{- define "vdiguard.image" -}}
{{- $ref := ternary (printf "@%s" .image.digest) (printf ":%s" (default .default .image.tag)) (ne .image.digest "") -}}
{{- if .image.registry -}}
{{- printf "%s/%s%s" .image.registry .image.repository $ref -}}
{{- else -}}
{{- printf "%s%s" .image.repository $ref -}}
{{- end -}}
{{- end -}}

{{- define "vdiguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vdiguard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the database URL, and its key. */}}
{{- define "vdiguard.databaseSecret" -}}
{{- default (include "vdiguard.fullname" .) .Values.database.existingSecret -}}
{{- end -}}
{{- define "vdiguard.databaseSecretKey" -}}
{{- ternary .Values.database.existingSecretKey "database-url" (ne .Values.database.existingSecret "") -}}
{{- end -}}

{{/* The Secret holding admin-token and secret-key. */}}
{{- define "vdiguard.authSecret" -}}
{{- default (include "vdiguard.fullname" .) .Values.auth.existingSecret -}}
{{- end -}}

{{/* Address of the desktop engine (guacd or the bridge) as the gateway dials it. */}}
{{- define "vdiguard.engineAddress" -}}
{{- printf "%s-engine:4822" (include "vdiguard.fullname" .) -}}
{{- end -}}

{{/*
VDIGUARD_SHUTDOWN_GRACE_SECONDS from a pod's terminationGracePeriodSeconds: 5 s before the kubelet's
SIGKILL, so the records still unwritten then are spilled in time.
*/}}
{{- define "vdiguard.shutdownGrace" -}}
{{- max 1 (sub (int .) 5) -}}
{{- end -}}

{{/* Pod-level settings every workload shares: service account, security context, pull secrets. */}}
{{- define "vdiguard.podSpecCommon" -}}
serviceAccountName: {{ include "vdiguard.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Scheduling of one component: include with (dict "context" $ "component" "gateway" "values" .Values.gateway). */}}
{{- define "vdiguard.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if eq .values.podAntiAffinityPreset "soft" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "vdiguard.selectorLabels" (dict "context" .context "component" .component) | nindent 14 }}
{{- else if eq .values.podAntiAffinityPreset "hard" }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "vdiguard.selectorLabels" (dict "context" .context "component" .component) | nindent 12 }}
{{- end }}
{{- end -}}

{{/* The standard OpenTelemetry variables of one service: include with (dict "context" $ "service" "vdiguard-gateway"). */}}
{{- define "vdiguard.otelEnv" -}}
{{- $otel := .context.Values.otel -}}
- name: OTEL_SERVICE_NAME
  value: {{ .service | quote }}
{{- if $otel.enabled }}
- name: OTEL_SDK_DISABLED
  value: "false"
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $otel.protocol | quote }}
{{- if $otel.headersSecret }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ $otel.headersSecret }}
      key: otel-headers
{{- end }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- $attrs := list (printf "service.namespace=%s" .context.Release.Namespace) "k8s.pod.name=$(K8S_POD_NAME)" (printf "k8s.namespace.name=%s" .context.Release.Namespace) }}
{{- range $k, $v := $otel.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%s" $k $v) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- else }}
- name: OTEL_SDK_DISABLED
  value: "true"
{{- end }}
{{- end -}}

{{/* NetworkPolicy egress rules shared by the policies in networkpolicy.yaml. DNS, which every pod needs: */}}
{{- define "vdiguard.egressDns" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}
{{/* PostgreSQL: */}}
{{- define "vdiguard.egressPostgres" -}}
- ports:
    - port: {{ .Values.networkPolicy.postgresql.port }}
      protocol: TCP
  {{- with .Values.networkPolicy.postgresql.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{/* The OTLP endpoint, when telemetry is on: */}}
{{- define "vdiguard.egressOtlp" -}}
{{- if .Values.otel.enabled }}
- ports:
    {{- range .Values.networkPolicy.otlp.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .Values.networkPolicy.otlp.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
