{{/* The chart's name, or nameOverride. */}}
{{- define "zookeeper-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: object names, the Lease name. Not repeated when the release name already contains it. */}}
{{- define "zookeeper-operator.fullname" -}}
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

{{/* Labels that select the operator's pods; they never change across upgrades. */}}
{{- define "zookeeper-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zookeeper-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The selector labels as `key=value,...`, sorted by key: the operator's OPERATOR_POD_LABELS. */}}
{{- define "zookeeper-operator.selectorLabelList" -}}
{{- $labels := include "zookeeper-operator.selectorLabels" . | fromYaml }}
{{- $pairs := list }}
{{- range $key := keys $labels | sortAlpha }}
{{- $pairs = append $pairs (printf "%s=%s" $key (get $labels $key)) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/* Labels on every object of the release. */}}
{{- define "zookeeper-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "zookeeper-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "zookeeper-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "zookeeper-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
RBAC rules from files/: the single source the integration tests also run the operator under.
fromYamlArray parses them; toYaml re-emits them without the files' comments.
*/}}
{{- define "zookeeper-operator.clusterRules" -}}
{{- .Files.Get "files/cluster-rules.yaml" | fromYamlArray | toYaml }}
{{- end }}

{{- define "zookeeper-operator.leaderElectionRules" -}}
{{- .Files.Get "files/leader-election-rules.yaml" | fromYamlArray | toYaml }}
{{- end }}
