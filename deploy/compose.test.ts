/**
 * The container build and the local stack, checked without a container engine: the compose file
 * parses and names the services, the vdiguard services are hardened and health-checked, telemetry
 * flows gateway/scorer -> collector -> Jaeger, and the Dockerfile is multi-stage, non-root, without
 * dev dependencies in the runtime image.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from './chart/chart.js';

type Map = Record<string, unknown>;
const read = (...p: string[]): string => readFileSync(join(REPO_ROOT, ...p), 'utf8');

describe('deploy/compose.yaml', () => {
  const compose = parseYaml(read('deploy', 'compose.yaml'), { merge: true }) as { services: Record<string, Map>; volumes: Map };
  const services = compose.services;
  const vdiguard = ['migrate', 'scorer', 'gateway', 'bridge'];

  test('parses and names the full local stack', () => {
    assert.deepEqual(Object.keys(services).sort(), ['bridge', 'gateway', 'guacd', 'jaeger', 'migrate', 'otel-collector', 'postgres', 'scorer']);
  });

  test('the vdiguard services run the one image with the right subcommand', () => {
    for (const name of vdiguard) {
      const s = services[name]!;
      assert.equal(s.image, 'vdiguard:dev', name);
      assert.deepEqual(s.build, { context: '..', dockerfile: 'deploy/Dockerfile' }, name);
      assert.deepEqual(s.command, [name], name);
    }
  });

  test('every service but PostgreSQL is unprivileged with a read-only root filesystem', () => {
    for (const [name, s] of Object.entries(services)) {
      if (name === 'postgres') continue;
      assert.equal(s.read_only, true, name);
      assert.deepEqual(s.cap_drop, ['ALL'], name);
      assert.deepEqual(s.security_opt, ['no-new-privileges:true'], name);
      assert.match(String(s.user), /^[1-9]\d*:[1-9]\d*$/, name);
    }
  });

  test('long-running vdiguard services have health checks on their real endpoints', () => {
    const check = (name: string): string => ((services[name]!.healthcheck as Map).test as string[]).join(' ');
    assert.equal(check('gateway'), 'CMD vdiguard health http://127.0.0.1:8080/healthz');
    assert.equal(check('scorer'), 'CMD vdiguard health grpc://127.0.0.1:50051');
    assert.equal(check('bridge'), 'CMD vdiguard health tcp://127.0.0.1:4822');
  });

  test('start-up order: PostgreSQL healthy -> migration done -> scorer healthy -> gateway', () => {
    assert.deepEqual(services.migrate!.depends_on, { postgres: { condition: 'service_healthy' } });
    assert.deepEqual(services.scorer!.depends_on, { migrate: { condition: 'service_completed_successfully' } });
    assert.equal(((services.gateway!.depends_on as Map).scorer as Map).condition, 'service_healthy');
  });

  test('the gateway reaches guacd (or the bridge) and the scorer by service name', () => {
    const env = services.gateway!.environment as Map;
    assert.equal(env.VDIGUARD_GUACD, '${VDIGUARD_ENGINE:-guacd}:4822');
    assert.equal(env.VDIGUARD_GATEWAY_BRIDGE, 'off');
    assert.equal(env.VDIGUARD_GATEWAY_SCORER, 'scorer:50051');
    assert.deepEqual(services.bridge!.profiles, ['bridge']);
  });

  test('gateway and scorer carry the standard OTEL_* variables pointing at the collector', () => {
    for (const name of ['gateway', 'scorer']) {
      const env = services[name]!.environment as Map;
      assert.equal(env.OTEL_SERVICE_NAME, `vdiguard-${name}`);
      assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4317');
      assert.equal(env.OTEL_EXPORTER_OTLP_PROTOCOL, 'grpc');
    }
  });

  test('published ports are bound to the loopback address only', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const p of (s.ports as string[] | undefined) ?? []) assert.match(p, /^127\.0\.0\.1:/, `${name}: ${p}`);
    }
  });

  test('the collector receives OTLP and sends traces to Jaeger', () => {
    const otel = parseYaml(read('deploy', 'otel-collector.yaml')) as { receivers: Map; exporters: Record<string, Map>; service: { pipelines: Record<string, Map> } };
    assert.deepEqual(Object.keys((otel.receivers.otlp as Map).protocols as Map).sort(), ['grpc', 'http']);
    assert.equal(otel.exporters['otlp/jaeger']!.endpoint, 'jaeger:4317');
    assert.deepEqual(otel.service.pipelines.traces!.exporters, ['otlp/jaeger']);
    for (const p of ['traces', 'metrics', 'logs']) assert.deepEqual(otel.service.pipelines[p]!.receivers, ['otlp'], p);
    assert.equal((services.jaeger!.environment as Map).COLLECTOR_OTLP_ENABLED, 'true');
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = read('deploy', 'Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = instructions.filter((l) => l.startsWith('FROM '));
  const runtime = instructions.slice(instructions.findIndex((l) => / AS runtime$/.test(l)));

  test('is multi-stage: build, production dependencies, runtime', () => {
    assert.deepEqual(stages.map((l) => l.split(' AS ')[1]), ['build', 'deps', 'runtime']);
  });

  test('the runtime stage has production dependencies only and no build tools', () => {
    assert.ok(instructions.some((l) => /^RUN npm ci --omit=dev\b/.test(l)));
    assert.ok(runtime.some((l) => l === 'COPY --from=deps /src/node_modules ./node_modules'));
    assert.ok(!runtime.some((l) => /^RUN .*npm (ci|install)/.test(l)), 'no install in the runtime stage');
    assert.ok(!runtime.some((l) => /^COPY (?!--from)/.test(l)), 'the runtime stage copies only from earlier stages');
  });

  test('runs as a non-root user, with a health check and the CLI as entrypoint', () => {
    const user = runtime.filter((l) => l.startsWith('USER ')).at(-1);
    assert.equal(user, 'USER 1000:1000');
    assert.ok(runtime.some((l) => /^HEALTHCHECK .*CMD \["vdiguard", "health", "http:\/\/127\.0\.0\.1:8080\/healthz"\]/.test(l)));
    assert.ok(runtime.includes('ENTRYPOINT ["vdiguard"]'));
  });

  test('the data directory is the runtime user\'s alone (the services refuse one others can read)', () => {
    assert.ok(runtime.some((l) => /^RUN .*mkdir -p -m 0700 \/var\/lib\/vdiguard .*chown 1000:1000 \/var\/lib\/vdiguard/.test(l)));
    assert.ok(runtime.some((l) => /^ENV .*VDIGUARD_DATA_DIR=\/var\/lib\/vdiguard/.test(l)));
  });

  test('.dockerignore keeps node_modules, dist, git and local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.git', '.vdiguard']) assert.ok(ignored.includes(entry), entry);
  });

  test('the chart runs the image as the user the image declares', () => {
    const values = parseYaml(read('helm', 'vdiguard', 'values.yaml')) as { containerSecurityContext: { runAsUser: number; runAsGroup: number } };
    assert.equal(`USER ${values.containerSecurityContext.runAsUser}:${values.containerSecurityContext.runAsGroup}`, 'USER 1000:1000');
  });
});
