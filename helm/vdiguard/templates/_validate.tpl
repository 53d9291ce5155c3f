{{/*
The one validation helper: checks the values that must fit together and fails with every problem at
once, so an admin fixes a deployment in one go. Types, ranges and unknown keys are the schema's job
(values.schema.json); this covers what a schema cannot say well. Included from configmap.yaml, which
every render produces.
*/}}
{{- define "vdiguard.validateValues" -}}
{{- $problems := list -}}
{{- $v := .Values -}}

{{- if not (or $v.database.url $v.database.existingSecret) -}}
{{- $problems = append $problems "database: set database.url or database.existingSecret (vdiguard needs PostgreSQL)" -}}
{{- end -}}

{{- if $v.auth.secretKey -}}
{{- if ne (len (b64dec $v.auth.secretKey)) 32 -}}
{{- $problems = append $problems "auth.secretKey: must be base64 of exactly 32 bytes (openssl rand -base64 32)" -}}
{{- end -}}
{{- end -}}

{{- if $v.scorer.tls.enabled -}}
{{- if not $v.scorer.tls.existingSecret -}}
{{- $problems = append $problems "scorer.tls.existingSecret: name the Secret with the scorer's certificate (tls.crt, tls.key, ca.crt), or set scorer.tls.enabled=false and scorer.allowPlaintext=true behind an encrypting mesh" -}}
{{- end -}}
{{- if not $v.scorer.tls.clientExistingSecret -}}
{{- $problems = append $problems "scorer.tls.clientExistingSecret: name the Secret with ca.crt (the CA of the scorer's certificate) and, for mTLS, the gateway's client tls.crt and tls.key" -}}
{{- end -}}
{{- if $v.scorer.allowPlaintext -}}
{{- $problems = append $problems "scorer.allowPlaintext: cannot be true while scorer.tls.enabled is true" -}}
{{- end -}}
{{- else if not $v.scorer.allowPlaintext -}}
{{- $problems = append $problems "scorer: TLS is off; set scorer.tls.enabled=true with certificates, or scorer.allowPlaintext=true if a service mesh encrypts pod-to-pod traffic" -}}
{{- end -}}

{{- if not (or $v.gateway.tls.existingSecret $v.ingress.enabled $v.gateway.allowPlaintext) -}}
{{- $problems = append $problems "gateway: nothing encrypts the agents' traffic; enable the Ingress (TLS at the controller), set gateway.tls.existingSecret, or set gateway.allowPlaintext=true behind a TLS-terminating load balancer" -}}
{{- end -}}

{{- if $v.ingress.enabled -}}
{{- if not $v.ingress.hostname -}}
{{- $problems = append $problems "ingress.hostname: set the host name agents use (for example vdi.example.com)" -}}
{{- end -}}
{{- if not $v.ingress.tls -}}
{{- $problems = append $problems "ingress.tls: agents' passwords and input cross the Ingress; it must serve HTTPS" -}}
{{- end -}}
{{- end -}}

{{- range $component := list "gateway" "scorer" -}}
{{- $a := (index $v $component).autoscaling -}}
{{- if and $a.enabled (gt (int $a.minReplicas) (int $a.maxReplicas)) -}}
{{- $problems = append $problems (printf "%s.autoscaling: minReplicas (%d) is above maxReplicas (%d)" $component (int $a.minReplicas) (int $a.maxReplicas)) -}}
{{- end -}}
{{- end -}}

{{- $mirrorBatch := index ($v.gateway.settings | default dict) "VDIGUARD_MIRROR_BATCH_EVENTS" -}}
{{- $scorerBatch := index ($v.scorer.settings | default dict) "VDIGUARD_MAX_BATCH_EVENTS" -}}
{{- if and $mirrorBatch $scorerBatch (gt (int $mirrorBatch) (int $scorerBatch)) -}}
{{- $problems = append $problems (printf "gateway.settings: VDIGUARD_MIRROR_BATCH_EVENTS (%v) is above scorer.settings VDIGUARD_MAX_BATCH_EVENTS (%v), so the scorer would refuse full batches; lower the first or raise the second" $mirrorBatch $scorerBatch) -}}
{{- end -}}

{{- if and $v.otel.enabled (not $v.otel.endpoint) -}}
{{- $problems = append $problems "otel.endpoint: set the OTLP endpoint (for example http://otel-collector.observability:4317) or otel.enabled=false" -}}
{{- end -}}

{{- if and (eq $v.engine.type "guacd") $v.engine.bridge.settings -}}
{{- $problems = append $problems "engine.bridge.settings: only the built-in bridge reads them; set engine.type=bridge or remove them" -}}
{{- end -}}

{{- if and (eq $v.engine.type "guacd") $v.engine.bridge.desktopCaConfigMap -}}
{{- $problems = append $problems "engine.bridge.desktopCaConfigMap: only the built-in bridge reads it; guacd checks certificates per connection (ignore-cert, security)" -}}
{{- end -}}

{{- if $problems -}}
{{- fail (printf "\n\nvdiguard: the values have %d problem(s):\n  - %s\n" (len $problems) (join "\n  - " $problems)) -}}
{{- end -}}
{{- end -}}
