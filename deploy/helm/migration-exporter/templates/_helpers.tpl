{{/*
Named templates shared by the chart's manifests: names, labels, the image, the scrape job the
rules select, and what the web configuration asks of the probes and the ServiceMonitor.
*/}}

{{- define "migration-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the release name alone when it already holds the chart's. */}}
{{- define "migration-exporter.fullname" -}}
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

{{- define "migration-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "migration-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "migration-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: exporter
{{- end }}

{{- define "migration-exporter.labels" -}}
helm.sh/chart: {{ include "migration-exporter.chart" . }}
{{ include "migration-exporter.selectorLabels" . }}
app.kubernetes.io/part-of: migration-monitoring
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "migration-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "migration-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: name the existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "migration-exporter.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The scrape job: the ServiceMonitor sets no jobLabel, so Prometheus names the job after the
Service, the release's full name. The rules and the dashboards' default Job follow it.
*/}}
{{- define "migration-exporter.job" -}}
{{- include "migration-exporter.fullname" . }}
{{- end }}

{{/* The job files/ was generated for (scripts/generate-deploy's default, the mixin's jobName). */}}
{{- define "migration-exporter.generatedJob" -}}
migration-exporter
{{- end }}

{{- define "migration-exporter.webConfigPath" -}}
/etc/migration-exporter/web/web-config.yml
{{- end }}

{{/* "true" when the web configuration serves TLS. */}}
{{- define "migration-exporter.tls" -}}
{{- if hasKey .Values.webConfig.config "tls_server_config" }}true{{ end }}
{{- end }}

{{/* "true" when a probe without credentials would be refused: basic auth or a required client certificate. */}}
{{- define "migration-exporter.probesNeedCredentials" -}}
{{- $tls := default dict .Values.webConfig.config.tls_server_config }}
{{- $clientAuth := default "NoClientCert" $tls.client_auth_type }}
{{- if or (hasKey .Values.webConfig.config "basic_auth_users") (has $clientAuth (list "RequireAnyClientCert" "RequireAndVerifyClientCert")) }}true{{ end }}
{{- end }}

{{/* A label map as "k=v, k=v", for NOTES.txt. */}}
{{- define "migration-exporter.labelList" -}}
{{- $pairs := list }}
{{- range $k, $v := . }}{{ $pairs = append $pairs (printf "%s=%s" $k $v) }}{{ end }}
{{- join ", " $pairs }}
{{- end }}
