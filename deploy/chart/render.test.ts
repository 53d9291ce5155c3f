/**
 * The chart rendered by Go's text/template with sprig (deploy/chart/render/main.go, a stand-in for
 * `helm template`), when Go and Debian's sprig and yaml sources are installed; skipped otherwise. It
 * exercises what the render-free checks in chart.test.ts cannot: the validation helper's messages,
 * and the real objects every example produces (security, probes, selectors, references).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { CHART_DIR, REPO_ROOT, ciValueFiles, loadValues, type Values } from './chart.js';

/** Each workload's writable mounts: scratch space, and for the services that write records, their spill. */
const WRITABLE: Record<string, string[]> = {
  gateway: ['/tmp', '/var/lib/vdiguard/spill'],
  scorer: ['/tmp', '/var/lib/vdiguard/spill'],
  engine: ['/tmp'],
  migrate: ['/tmp'],
};

const GOCODE = '/usr/share/gocode';
const needs = [join(GOCODE, 'src/github.com/Masterminds/sprig'), join(GOCODE, 'src/github.com/ghodss/yaml')];
const hasGo = spawnSync('go', ['version']).status === 0;
const skip = !hasGo ? 'no Go toolchain (apt-get install golang-go golang-github-masterminds-sprig-dev golang-github-ghodss-yaml-dev)'
  : needs.every((p) => existsSync(p)) ? false : 'Go is here but not the sprig and yaml sources (apt-get install golang-github-masterminds-sprig-dev golang-github-ghodss-yaml-dev)';

const work = mkdtempSync(join(tmpdir(), 'vdiguard-chartrender-'));
const binary = join(work, 'chartrender');

interface Rendered {
  readonly status: number;
  readonly objects: Values[];
  readonly stderr: string;
}

function render(overrides: Values[] = []): Rendered {
  const files = overrides.map((o, i) => {
    const f = join(work, `override-${Date.now()}-${i}.yaml`);
    writeFileSync(f, stringify(o));
    return f;
  });
  const r = spawnSync(binary, [CHART_DIR, ...files], { encoding: 'utf8' });
  const objects = r.status === 0
    ? parseAllDocuments(r.stdout).map((d) => {
        if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0]!.message}`);
        return d.toJS() as Values | null;
      }).filter((o): o is Values => o !== null)
    : [];
  return { status: r.status ?? -1, objects, stderr: r.stderr };
}

const meta = (o: Values): Values => o.metadata as Values;
const podSpec = (o: Values): Values => ((o.spec as Values).template as Values).spec as Values;
const podLabels = (o: Values): Values => (((o.spec as Values).template as Values).metadata as Values).labels as Values;
const matches = (selector: Values, labels: Values): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('the chart rendered with text/template and sprig', { skip }, () => {
  before(() => {
    const src = join(work, 'gopath', 'src', 'chartrender');
    mkdirSync(src, { recursive: true });
    copyFileSync(join(REPO_ROOT, 'deploy', 'chart', 'render', 'main.go'), join(src, 'main.go'));
    const build = spawnSync('go', ['build', '-o', binary, '.'], {
      cwd: src,
      encoding: 'utf8',
      env: { ...process.env, GOPATH: `${join(work, 'gopath')}:${GOCODE}`, GO111MODULE: 'off', GOFLAGS: '' },
    });
    assert.equal(build.status, 0, build.stderr);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('the default values stop with one message listing every missing decision', () => {
    const r = render();
    assert.equal(r.status, 2);
    assert.match(r.stderr, /the values have 4 problem\(s\)/);
    for (const m of [/- database: set database\.url or database\.existingSecret/, /- scorer\.tls\.existingSecret:/, /- scorer\.tls\.clientExistingSecret:/, /- gateway: nothing encrypts/]) {
      assert.match(r.stderr, m);
    }
  });

  const minimal = ciValueFiles().get('values-minimal.yaml')!;
  const PROBLEMS: readonly { name: string; values: Values; message: RegExp }[] = [
    { name: 'TLS off without a mesh', values: { scorer: { tls: { enabled: false } } }, message: /scorer: TLS is off; set scorer\.tls\.enabled=true/ },
    { name: 'TLS and plaintext at once', values: { scorer: { allowPlaintext: true } }, message: /scorer\.allowPlaintext: cannot be true while scorer\.tls\.enabled/ },
    {
      name: 'mirror batches above what the scorer accepts',
      values: { gateway: { settings: { VDIGUARD_MIRROR_BATCH_EVENTS: '600' } }, scorer: { settings: { VDIGUARD_MAX_BATCH_EVENTS: 500 } } },
      message: /gateway\.settings: VDIGUARD_MIRROR_BATCH_EVENTS \(600\) is above scorer\.settings VDIGUARD_MAX_BATCH_EVENTS \(500\)/,
    },
    { name: 'an Ingress without a host', values: { ingress: { hostname: '' } }, message: /ingress\.hostname: set the host name/ },
    { name: 'an Ingress without TLS', values: { ingress: { tls: false } }, message: /ingress\.tls: .* must serve HTTPS/ },
    { name: 'autoscaling bounds upside down', values: { gateway: { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 2 } } }, message: /gateway\.autoscaling: minReplicas \(5\) is above maxReplicas \(2\)/ },
    { name: 'telemetry without an endpoint', values: { otel: { enabled: true } }, message: /otel\.endpoint: set the OTLP endpoint/ },
    { name: 'bridge settings for guacd', values: { engine: { bridge: { settings: { VDIGUARD_BRIDGE_MAX_CONNECTIONS: 8 } } } }, message: /engine\.bridge\.settings: only the built-in bridge/ },
    { name: 'a desktop CA for guacd', values: { engine: { bridge: { desktopCaConfigMap: 'ca' } } }, message: /engine\.bridge\.desktopCaConfigMap: only the built-in bridge/ },
  ];
  for (const p of PROBLEMS) {
    test(`the validation helper refuses: ${p.name}`, () => {
      const r = render([minimal, p.values]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /the values have 1 problem\(s\)/);
      assert.match(r.stderr, p.message);
    });
  }

  test('several problems are reported together', () => {
    const r = render([minimal, { ingress: { hostname: '', tls: false }, otel: { enabled: true } }]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /the values have 3 problem\(s\)/);
  });

  test('mirror batches up to what the scorer accepts pass', () => {
    const r = render([minimal, { gateway: { settings: { VDIGUARD_MIRROR_BATCH_EVENTS: '500' } }, scorer: { settings: { VDIGUARD_MAX_BATCH_EVENTS: '500' } } }]);
    assert.equal(r.status, 0, r.stderr);
  });

  const defaults = loadValues();
  for (const [file, override] of ciValueFiles()) {
    test(`ci/${file}: every object is sound`, () => {
      const r = render([override]);
      assert.equal(r.status, 0, r.stderr);
      const objects = r.objects;
      const byKind = (kind: string): Values[] => objects.filter((o) => o.kind === kind);
      const names = (kind: string): string[] => byKind(kind).map((o) => String(meta(o).name));
      for (const o of objects) {
        assert.equal(meta(o).namespace, 'ns', `${String(o.kind)} ${String(meta(o).name)}: namespace`);
        assert.equal((meta(o).labels as Values)['app.kubernetes.io/instance'], 'rel', `${String(o.kind)} ${String(meta(o).name)}: labels`);
      }

      const workloads = [...byKind('Deployment'), ...byKind('Job')];
      assert.deepEqual(workloads.map((w) => meta(w).name).sort(), ['rel-vdiguard-engine', 'rel-vdiguard-gateway', 'rel-vdiguard-migrate', 'rel-vdiguard-scorer']);
      const secrets = new Set([...names('Secret'), ...[
        (override.database as Values | undefined)?.existingSecret, (override.auth as Values | undefined)?.existingSecret,
        ((override.scorer as Values | undefined)?.tls as Values | undefined)?.existingSecret, ((override.scorer as Values | undefined)?.tls as Values | undefined)?.clientExistingSecret,
        ((override.gateway as Values | undefined)?.tls as Values | undefined)?.existingSecret, (override.otel as Values | undefined)?.headersSecret,
      ].filter(Boolean).map(String)]);
      const configMaps = new Set([...names('ConfigMap'), ...[((override.engine as Values | undefined)?.bridge as Values | undefined)?.desktopCaConfigMap].filter(Boolean).map(String)]);

      for (const w of workloads) {
        const where = String(meta(w).name);
        const pod = podSpec(w);
        assert.deepEqual(pod.securityContext, defaults.podSecurityContext, `${where}: pod securityContext`);
        assert.equal(pod.automountServiceAccountToken, false, where);
        assert.equal(pod.serviceAccountName, 'rel-vdiguard', where);
        for (const c of pod.containers as Values[]) {
          assert.deepEqual(c.securityContext, defaults.containerSecurityContext, `${where}: container securityContext`);
          assert.ok(c.resources, `${where}: resources`);
          if (w.kind === 'Deployment') for (const p of ['startupProbe', 'livenessProbe', 'readinessProbe']) assert.ok(c[p], `${where}: ${p}`);
          for (const e of (c.env as Values[] | undefined) ?? []) {
            const ref = (e.valueFrom as Values | undefined)?.secretKeyRef as Values | undefined;
            if (ref) assert.ok(secrets.has(String(ref.name)), `${where}: env ${String(e.name)} reads Secret ${String(ref.name)}, which nothing provides`);
          }
          for (const e of (c.envFrom as Values[] | undefined) ?? []) {
            assert.ok(configMaps.has(String((e.configMapRef as Values).name)), `${where}: envFrom ConfigMap`);
          }
          const writable = (c.volumeMounts as Values[]).filter((m) => m.readOnly !== true).map((m) => m.mountPath);
          assert.deepEqual(writable, WRITABLE[where.replace('rel-vdiguard-', '')], `${where}: writable mounts`);
        }
        for (const v of pod.volumes as Values[]) {
          if (v.secret) assert.ok(secrets.has(String((v.secret as Values).secretName)), `${where}: volume ${String(v.name)}`);
          if (v.configMap) assert.ok(configMaps.has(String((v.configMap as Values).name)), `${where}: volume ${String(v.name)}`);
        }
        if (w.kind === 'Deployment') {
          assert.ok(matches(((w.spec as Values).selector as Values).matchLabels as Values, podLabels(w)), `${where}: selector matches its pods`);
        }
      }

      const deployments = byKind('Deployment');
      for (const s of byKind('Service')) {
        const selected = deployments.filter((d) => matches((s.spec as Values).selector as Values, podLabels(d)));
        assert.equal(selected.length, 1, `Service ${String(meta(s).name)} selects exactly one Deployment`);
      }
      for (const pdb of byKind('PodDisruptionBudget')) {
        assert.equal(deployments.filter((d) => matches(((pdb.spec as Values).selector as Values).matchLabels as Values, podLabels(d))).length, 1);
      }
      for (const hpa of byKind('HorizontalPodAutoscaler')) {
        const target = ((hpa.spec as Values).scaleTargetRef as Values).name;
        const d = deployments.find((x) => meta(x).name === target);
        assert.ok(d, `HPA targets ${String(target)}`);
        assert.equal((d.spec as Values).replicas, undefined, `${String(target)}: replicas left to the HPA`);
      }
      for (const np of byKind('NetworkPolicy')) {
        const sel = ((np.spec as Values).podSelector as Values).matchLabels as Values;
        assert.ok(workloads.some((w) => matches(sel, podLabels(w))), `NetworkPolicy ${String(meta(np).name)} selects a workload`);
        assert.deepEqual((np.spec as Values).policyTypes, ['Ingress', 'Egress']);
      }
      const otelOn = Boolean((override.otel as Values | undefined)?.enabled);
      const gwPolicy = byKind('NetworkPolicy').find((n) => meta(n).name === 'rel-vdiguard-gateway');
      if (gwPolicy) {
        const ports = ((gwPolicy.spec as Values).egress as Values[]).flatMap((e) => (e.ports as Values[]).map((p) => p.port));
        assert.equal(ports.includes(4317), otelOn, 'OTLP egress exactly when telemetry is on');
        assert.ok(ports.includes(5432) && ports.includes(50051) && ports.includes(4822) && ports.includes(53));
      }
      for (const ing of byKind('Ingress')) {
        const backend = ((((((ing.spec as Values).rules as Values[])[0]!.http as Values).paths as Values[])[0]!.backend as Values).service as Values).name;
        assert.equal(backend, 'rel-vdiguard-gateway');
      }
      const job = byKind('Job')[0]!;
      assert.equal((meta(job).annotations as Values)['helm.sh/hook'], 'post-install,pre-upgrade');
      assert.match(r.stderr, /vdiguard 0\.1\.0 is installed as release rel/, 'NOTES.txt renders');
    });
  }

  test('generated credentials have the shape the services require', () => {
    const r = render([minimal]);
    const secret = r.objects.find((o) => o.kind === 'Secret')!;
    const data = secret.data as Record<string, string>;
    const token = Buffer.from(data['admin-token']!, 'base64').toString();
    const gatewayToken = Buffer.from(data['gateway-token']!, 'base64').toString();
    const key = Buffer.from(Buffer.from(data['secret-key']!, 'base64').toString(), 'base64');
    assert.ok(token.length >= 24);
    assert.ok(gatewayToken.length >= 24);
    assert.notEqual(gatewayToken, token, 'the gateway token grants no administration');
    assert.equal(key.length, 32);
  });

  test('the bridge engine runs `vdiguard bridge` from the vdiguard image, guacd the official image', () => {
    const engine = (file: string): Values => (podSpec(render([ciValueFiles().get(file)!]).objects.find((o) => o.kind === 'Deployment' && meta(o).name === 'rel-vdiguard-engine')!).containers as Values[])[0]!;
    const bridge = engine('values-mesh-bridge.yaml');
    assert.deepEqual(bridge.args, ['bridge']);
    assert.match(String(bridge.image), /vdiguard\/vdiguard:0\.1\.0$/);
    assert.match(String(engine('values-minimal.yaml').image), /^docker\.io\/guacamole\/guacd:1\.5\.5$/);
    assert.match(String(engine('values-ha.yaml').image), /guacd@sha256:0{64}$/);
  });

  test("a bridge engine drains its desktop connections until 5 s before the pod's grace ends", () => {
    const r = render([ciValueFiles().get('values-mesh-bridge.yaml')!, { engine: { terminationGracePeriodSeconds: 45 } }]);
    const config = r.objects.find((o) => o.kind === 'ConfigMap' && meta(o).name === 'rel-vdiguard-engine')!.data as Values;
    assert.equal(config.VDIGUARD_BRIDGE_SHUTDOWN_GRACE_SECONDS, '40');
    assert.equal(podSpec(r.objects.find((o) => o.kind === 'Deployment' && meta(o).name === 'rel-vdiguard-engine')!).terminationGracePeriodSeconds, 45);
  });

  test("the services write their records until 5 s before the pod's grace ends, and spill the rest to an emptyDir or a claim", () => {
    const r = render([minimal, { scorer: { terminationGracePeriodSeconds: 60, spill: { existingClaim: 'scorer-spill' } } }]);
    const config = (name: string): Values => r.objects.find((o) => o.kind === 'ConfigMap' && meta(o).name === `rel-vdiguard-${name}`)!.data as Values;
    assert.equal(config('gateway').VDIGUARD_SHUTDOWN_GRACE_SECONDS, '25');
    assert.equal(config('scorer').VDIGUARD_SHUTDOWN_GRACE_SECONDS, '55');
    const spillOf = (name: string): Values => (podSpec(r.objects.find((o) => o.kind === 'Deployment' && meta(o).name === `rel-vdiguard-${name}`)!).volumes as Values[]).find((v) => v.name === 'spill')!;
    assert.deepEqual(spillOf('gateway'), { name: 'spill', emptyDir: { sizeLimit: '256Mi' } });
    assert.deepEqual(spillOf('scorer'), { name: 'spill', persistentVolumeClaim: { claimName: 'scorer-spill' } });
    for (const name of ['gateway', 'scorer']) assert.equal(config(name).VDIGUARD_SPILL_DIR, '/var/lib/vdiguard/spill');
  });

  test('plaintext behind a mesh probes the scorer with the gRPC health service', () => {
    const scorer = render([ciValueFiles().get('values-mesh-bridge.yaml')!]).objects.find((o) => o.kind === 'Deployment' && meta(o).name === 'rel-vdiguard-scorer')!;
    const c = (podSpec(scorer).containers as Values[])[0]!;
    assert.deepEqual((c.readinessProbe as Values).grpc, { port: 50051, service: 'vdiguard.scorer.v1.ScorerService' });
  });
});
