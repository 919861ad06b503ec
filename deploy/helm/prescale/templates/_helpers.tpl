{{/*
Shared definitions. With `helm install prescale ...` and default values the objects are
exactly those of `prescale install --namespace <ns>` (crates/prescale/tests/helm checks it
object by object), so a change to one is made to the other.
*/}}

{{/* Prefix of every object's name: the release name if it says prescale, else <release>-prescale. */}}
{{- define "prescale.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains "prescale" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-prescale" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The operator's name: its Deployment, ServiceAccount, Role, Service. */}}
{{- define "prescale.operatorName" -}}{{ include "prescale.fullname" . }}-operator{{- end -}}

{{/*
Cluster-scoped objects carry the namespace as well as the release (operator::install::
cluster_rbac_name), so releases in different namespaces never overwrite each other's.
*/}}
{{- define "prescale.clusterName" -}}{{ include "prescale.operatorName" . }}-{{ .Release.Namespace }}{{- end -}}

{{/* Labels of every object: prescale install's, plus Helm's. */}}
{{- define "prescale.labels" -}}
app.kubernetes.io/name: prescale-operator
app.kubernetes.io/part-of: prescale
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Pod selector of a component (`prescale-operator`, `prescale-worker`, ...): its name and the release. */}}
{{- define "prescale.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* prescale's image: imageCredentials.registry / image.repository : tag (default appVersion). */}}
{{- define "prescale.image" -}}
{{- printf "%s/%s:%s" (trimSuffix "/" .Values.imageCredentials.registry) .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The name of the pull Secret the chart makes from imageCredentials.password. */}}
{{- define "prescale.pullSecretName" -}}{{ include "prescale.fullname" . }}-image-credentials{{- end -}}

{{/* imagePullSecrets of every pod, or nothing. */}}
{{- define "prescale.imagePullSecrets" -}}
{{- if .Values.imageCredentials.secretRef }}
imagePullSecrets:
  - name: {{ .Values.imageCredentials.secretRef }}
{{- else if .Values.imageCredentials.password }}
imagePullSecrets:
  - name: {{ include "prescale.pullSecretName" . }}
{{- end }}
{{- end -}}

{{/*
The history store in use: embedded, postgresql (in-chart) or external. `auto` is embedded
while a single process uses the store, postgresql when several do.
*/}}
{{- define "prescale.storeType" -}}
{{- $type := .Values.historyStore.type -}}
{{- if eq $type "auto" -}}
{{- if or (gt (int .Values.thorasForecast.worker.replicas) 1) (gt (int .Values.operator.replicas) 1) -}}postgresql{{- else -}}embedded{{- end -}}
{{- else -}}
{{- $type -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key holding the PostgreSQL URL, as "name key"; empty for the embedded store. */}}
{{- define "prescale.storeSecret" -}}
{{- $type := include "prescale.storeType" . -}}
{{- if eq $type "postgresql" -}}
{{ include "prescale.fullname" . }}-postgresql url
{{- else if eq $type "external" -}}
{{ .Values.historyStore.external.secretRef }} {{ .Values.historyStore.external.secretKey }}
{{- end -}}
{{- end -}}

{{/*
Refuses combinations the schema cannot express, with the values to change (the same rules
as `prescale install`'s InstallError).
*/}}
{{- define "prescale.validate" -}}
{{- $type := include "prescale.storeType" . -}}
{{- if and .Values.imageCredentials.password .Values.imageCredentials.secretRef -}}
{{- fail "imageCredentials.password and imageCredentials.secretRef are both set: give a password (the chart makes the pull Secret) or the name of an existing Secret, not both" -}}
{{- end -}}
{{- if and (eq $type "embedded") (gt (int .Values.thorasForecast.worker.replicas) 1) -}}
{{- fail (printf "thorasForecast.worker.replicas %d needs a shared history store: the workers share targets through PostgreSQL; set historyStore.type to auto, postgresql or external" (int .Values.thorasForecast.worker.replicas)) -}}
{{- end -}}
{{- if and (eq $type "embedded") (gt (int .Values.operator.replicas) 1) -}}
{{- fail (printf "operator.replicas %d with historyStore.type embedded: the embedded store is one file for one process; set historyStore.type to auto, postgresql or external, or keep one replica" (int .Values.operator.replicas)) -}}
{{- end -}}
{{- if and (eq $type "external") (not .Values.historyStore.external.secretRef) -}}
{{- fail "historyStore.type external needs historyStore.external.secretRef: a Secret whose key (historyStore.external.secretKey, default url) holds postgres://user:password@host:port/db" -}}
{{- end -}}
{{- end -}}

{{/*
nodeSelector, tolerations, affinity and priorityClassName of a pod: the component's own
(`.component`), else the release-wide defaults.
*/}}
{{- define "prescale.scheduling" -}}
{{- $c := .component -}}
{{- $v := .root.Values -}}
{{- with (default $v.nodeSelector $c.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.tolerations $c.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.affinity $c.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.priorityClassName $c.priorityClassName) }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* The claim of the history's volume (metricsCollector.persistence), for a PVC or a volumeClaimTemplate. */}}
{{- define "prescale.claimSpec" -}}
{{- $p := .Values.metricsCollector.persistence -}}
accessModes: [ReadWriteOnce]
resources:
  requests:
    storage: {{ $p.pvcStorageRequestSize }}
{{- with $p.storageClassName }}
storageClassName: {{ . }}
{{- end }}
{{- with $p.volumeName }}
volumeName: {{ . }}
{{- end }}
{{- end -}}
