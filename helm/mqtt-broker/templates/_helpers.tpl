{{/*
Names, labels and the broker's environment, shared by the templates.
*/}}

{{- define "mqtt-broker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "mqtt-broker.fullname" -}}
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

{{- define "mqtt-broker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mqtt-broker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mqtt-broker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mqtt-broker.labels" -}}
helm.sh/chart: {{ include "mqtt-broker.chart" . }}
{{ include "mqtt-broker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mqtt-broker
{{- end }}

{{- define "mqtt-broker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mqtt-broker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mqtt-broker.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Name the bitnami/redis subchart gives its resources (its common.names.fullname). */}}
{{- define "mqtt-broker.redis.fullname" -}}
{{- if .Values.redis.fullnameOverride }}
{{- .Values.redis.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains "redis" .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-redis" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* "true" when the pods have a Redis to share state through. */}}
{{- define "mqtt-broker.clustered" -}}
{{- if or .Values.redis.enabled .Values.externalRedis.url .Values.externalRedis.clusterNodes }}true{{ end }}
{{- end }}

{{/* Secret and key holding the Redis password, empty when there is none. */}}
{{- define "mqtt-broker.redis.passwordSecret" -}}
{{- if .Values.redis.enabled }}
{{- if .Values.redis.auth.enabled }}{{ include "mqtt-broker.redis.fullname" . }}{{ end }}
{{- else if .Values.externalRedis.existingSecret }}
{{- .Values.externalRedis.existingSecret }}
{{- else if .Values.externalRedis.password }}
{{- printf "%s-redis" (include "mqtt-broker.fullname" .) }}
{{- end }}
{{- end }}

{{- define "mqtt-broker.redis.passwordKey" -}}
{{- if .Values.redis.enabled }}redis-password{{ else if .Values.externalRedis.existingSecret }}{{ .Values.externalRedis.existingSecretPasswordKey }}{{ else }}redis-password{{ end }}
{{- end }}

{{/* The TLS Secret mounted at /etc/mqtt-broker/tls. */}}
{{- define "mqtt-broker.tlsSecret" -}}
{{- default (printf "%s-tls" (include "mqtt-broker.fullname" .)) .Values.tls.existingSecret }}
{{- end }}

{{- define "mqtt-broker.passwordSecret" -}}
{{- default (printf "%s-passwd" (include "mqtt-broker.fullname" .)) .Values.auth.existingPasswordSecret }}
{{- end }}

{{/* The Secret holding the admin API token, mounted at /etc/mqtt-broker/admin (ADMIN_TOKEN_FILE). */}}
{{- define "mqtt-broker.adminSecret" -}}
{{- default (printf "%s-admin" (include "mqtt-broker.fullname" .)) .Values.admin.existingSecret }}
{{- end }}

{{- define "mqtt-broker.adminSecretKey" -}}
{{- if .Values.admin.existingSecret }}{{ .Values.admin.existingSecretKey }}{{ else }}admin-token{{ end }}
{{- end }}

{{- define "mqtt-broker.aclConfigMap" -}}
{{- default (printf "%s-acl" (include "mqtt-broker.fullname" .)) .Values.auth.existingAclConfigMap }}
{{- end }}

{{- define "mqtt-broker.hasPasswordFile" -}}
{{- if or .Values.auth.passwordFile .Values.auth.existingPasswordSecret }}true{{ end }}
{{- end }}

{{- define "mqtt-broker.hasAcl" -}}
{{- if or .Values.auth.acl .Values.auth.existingAclConfigMap }}true{{ end }}
{{- end }}

{{/* Settings the chart cannot render into a working installation. */}}
{{- define "mqtt-broker.validate" -}}
{{- if and (not (include "mqtt-broker.clustered" .)) (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) }}
{{- fail "replicaCount > 1 or autoscaling needs Redis: set redis.enabled=true or externalRedis.url / externalRedis.clusterNodes (without Redis each pod would be a separate broker)" }}
{{- end }}
{{- if and .Values.redis.enabled (or .Values.externalRedis.url .Values.externalRedis.clusterNodes) }}
{{- fail "set either redis.enabled or externalRedis, not both" }}
{{- end }}
{{- if and (or .Values.ports.mqttTls.enabled .Values.ports.wss.enabled) (not .Values.tls.enabled) }}
{{- fail "ports.mqttTls / ports.wss need tls.enabled=true and a certificate" }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) (or (not .Values.tls.cert) (not .Values.tls.key)) }}
{{- fail "tls.enabled needs tls.existingSecret or both tls.cert and tls.key" }}
{{- end }}
{{- if and .Values.tls.requireClientCert (not .Values.tls.existingSecret) (not .Values.tls.ca) }}
{{- fail "tls.requireClientCert needs a CA: tls.ca or ca.crt in tls.existingSecret" }}
{{- end }}
{{- if and .Values.admin.tls (not .Values.tls.enabled) }}
{{- fail "admin.tls needs tls.enabled=true and a certificate (the admin API reuses TLS_CERT / TLS_KEY)" }}
{{- end }}
{{- if and .Values.admin.token (lt (len .Values.admin.token) 16) }}
{{- fail "admin.token must be at least 16 characters (the broker refuses shorter ones)" }}
{{- end }}
{{- if and (not .Values.broker.allowAnonymous) (not (include "mqtt-broker.hasPasswordFile" .)) }}
{{- fail "broker.allowAnonymous=false needs auth.passwordFile or auth.existingPasswordSecret (no client could log in)" }}
{{- end }}
{{- end }}

{{/* The broker's environment (ARCHITECTURE.md section 4, services/broker/README.md). */}}
{{- define "mqtt-broker.env" -}}
- name: NODE_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: MQTT_PORT
  value: {{ ternary (toString .Values.ports.mqtt.containerPort) "off" .Values.ports.mqtt.enabled | quote }}
- name: MQTT_WS_PORT
  value: {{ ternary (toString .Values.ports.ws.containerPort) "off" .Values.ports.ws.enabled | quote }}
- name: MQTT_TLS_PORT
  value: {{ ternary (toString .Values.ports.mqttTls.containerPort) "off" .Values.ports.mqttTls.enabled | quote }}
- name: MQTT_WSS_PORT
  value: {{ ternary (toString .Values.ports.wss.containerPort) "off" .Values.ports.wss.enabled | quote }}
- name: MQTTSN_PORT
  value: {{ ternary (toString .Values.ports.mqttsn.containerPort) "off" .Values.ports.mqttsn.enabled | quote }}
- name: HTTP_PORT
  value: {{ .Values.ports.http | quote }}
- name: GRPC_PORT
  value: {{ .Values.ports.grpc | quote }}
{{- /* Reached through the -internal Service, so not loopback: the broker then requires the token. */}}
- name: GRPC_HOST
  value: "0.0.0.0"
- name: ADMIN_TOKEN_FILE
  value: /etc/mqtt-broker/admin/admin-token
- name: ADMIN_TLS
  value: {{ .Values.admin.tls | quote }}
- name: LOG_LEVEL
  value: {{ .Values.broker.logLevel | quote }}
- name: ALLOW_ANONYMOUS
  value: {{ .Values.broker.allowAnonymous | quote }}
- name: DRAIN_SECONDS
  value: {{ .Values.broker.drainSeconds | quote }}
- name: DRAIN_WILL_GRACE_SECONDS
  value: {{ .Values.broker.drainWillGraceSeconds | quote }}
- name: SYS_INTERVAL_SECONDS
  value: {{ .Values.broker.sysIntervalSeconds | quote }}
- name: WS_ENGINE
  value: {{ .Values.broker.wsEngine | quote }}
- name: PROXY_PROTOCOL
  value: {{ .Values.proxyProtocol.enabled | quote }}
- name: PROXY_PROTOCOL_LISTENERS
  value: {{ join "," .Values.proxyProtocol.listeners | quote }}
{{- with .Values.broker.serverReference }}
- name: SERVER_REFERENCE
  value: {{ . | quote }}
{{- end }}
{{- if include "mqtt-broker.hasPasswordFile" . }}
- name: PASSWORD_FILE
  value: /etc/mqtt-broker/passwd/passwd
{{- end }}
{{- if include "mqtt-broker.hasAcl" . }}
- name: ACL_FILE
  value: /etc/mqtt-broker/acl/acl
{{- end }}
{{- if .Values.tls.enabled }}
- name: TLS_CERT
  value: /etc/mqtt-broker/tls/tls.crt
- name: TLS_KEY
  value: /etc/mqtt-broker/tls/tls.key
{{- if or .Values.tls.ca .Values.tls.existingSecret }}
- name: TLS_CA
  value: /etc/mqtt-broker/tls/ca.crt
{{- end }}
- name: TLS_REQUIRE_CLIENT_CERT
  value: {{ .Values.tls.requireClientCert | quote }}
- name: TLS_IDENTITY
  value: {{ .Values.tls.identity | quote }}
{{- end }}
{{- with .Values.auth.chain }}
- name: AUTH_CHAIN
  value: {{ . | quote }}
{{- end }}
{{- if .Values.auth.jwt.jwksUrl }}
- name: JWT_JWKS_URL
  value: {{ .Values.auth.jwt.jwksUrl | quote }}
- name: JWT_LEEWAY_SECONDS
  value: {{ .Values.auth.jwt.leewaySeconds | quote }}
{{- with .Values.auth.jwt.issuer }}
- name: JWT_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- with .Values.auth.jwt.audience }}
- name: JWT_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if or .Values.auth.http.authUrl .Values.auth.http.authzUrl }}
{{- with .Values.auth.http.authUrl }}
- name: HTTP_AUTH_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.auth.http.authzUrl }}
- name: HTTP_AUTHZ_URL
  value: {{ . | quote }}
{{- end }}
- name: HTTP_AUTH_TIMEOUT_MS
  value: {{ .Values.auth.http.timeoutMs | quote }}
- name: HTTP_AUTH_MAX_CONCURRENT
  value: {{ .Values.auth.http.maxConcurrent | quote }}
- name: HTTP_AUTH_CACHE_SECONDS
  value: {{ .Values.auth.http.cacheSeconds | quote }}
- name: HTTP_AUTH_FAIL
  value: {{ .Values.auth.http.fail | quote }}
{{- end }}
{{- $passwordSecret := include "mqtt-broker.redis.passwordSecret" . }}
{{- if $passwordSecret }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $passwordSecret }}
      key: {{ include "mqtt-broker.redis.passwordKey" . }}
{{- end }}
{{- if .Values.redis.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s-master:6379" (include "mqtt-broker.redis.fullname" .) | quote }}
{{- else if .Values.externalRedis.clusterNodes }}
- name: REDIS_CLUSTER_NODES
  value: {{ join "," .Values.externalRedis.clusterNodes | quote }}
{{- else if .Values.externalRedis.url }}
- name: REDIS_URL
  value: {{ .Values.externalRedis.url | quote }}
{{- end }}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.username }}
- name: REDIS_USERNAME
  value: {{ .Values.externalRedis.username | quote }}
{{- end }}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.tls.enabled }}
- name: REDIS_TLS
  value: "true"
{{- if .Values.externalRedis.tls.caSecret }}
- name: REDIS_TLS_CA
  value: /etc/mqtt-broker/redis-ca/ca.crt
{{- end }}
{{- end }}
{{- with .Values.broker.nodeOptions }}
- name: NODE_OPTIONS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.broker.quotas }}
- name: QUOTA_MESSAGES_PER_SECOND
  value: {{ int64 .messagesPerSecond | toString | quote }}
- name: QUOTA_BYTES_PER_SECOND
  value: {{ int64 .bytesPerSecond | toString | quote }}
- name: QUOTA_USER_MESSAGES_PER_SECOND
  value: {{ int64 .userMessagesPerSecond | toString | quote }}
- name: QUOTA_USER_BYTES_PER_SECOND
  value: {{ int64 .userBytesPerSecond | toString | quote }}
- name: QUOTA_BURST_SECONDS
  value: {{ int64 .burstSeconds | toString | quote }}
- name: QUOTA_GRACE_SECONDS
  value: {{ int64 .graceSeconds | toString | quote }}
- name: CONNECT_RATE_PER_ADDRESS
  value: {{ int64 .connectRatePerAddress | toString | quote }}
{{- end }}
{{- range $name, $value := .Values.broker.limits }}
- name: {{ $name }}
  {{- /* values.yaml numbers are float64: int64 keeps 1000000 from printing as 1e+06 */}}
  value: {{ ternary (int64 $value | toString) (toString $value) (kindIs "float64" $value) | quote }}
{{- end }}
{{- with .Values.broker.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
