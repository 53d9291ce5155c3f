import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VdiguardError } from '../../lib/errors.js';
import { skipReason } from '../datasets/archive.js';
import { sapimouseUsers, type SapimouseUser } from '../testing/sapimouse.js';
import { ActionFusion, ActionNetwork, trainActionNetwork, type ActionFusionTemplate } from './action-network.js';
import { ActionMlp } from './unit-mlp.js';
import { rocAuc } from './metrics.js';
import { loadModelJson, modelToJson } from './tf/artifacts.js';
import { initTf, requireTf } from './tf/runtime.js';
import type { Background } from './types.js';

/** Few passes: enough for a network that tells 8 users apart; its full quality is the evaluation's. */
const TRAINING = { epochs: 4 };

describe('the mouse action network on SapiMouse users 1-8', { skip: skipReason('sapimouse') }, () => {
  let users: SapimouseUser[] = [];
  let network: ActionNetwork;
  const population = () => users.map((u) => ({ agentId: u.user, windows: u.enrol }));
  const backgroundOf = (i: number): Background => {
    const others = users.filter((_, j) => j !== i);
    return { agents: others.length, windows: others.flatMap((o) => o.enrol) };
  };

  before(async () => {
    await initTf('wasm');
    users = await sapimouseUsers(8);
    network = trainActionNetwork(population(), TRAINING);
  });

  test('is deterministic for a seed, knows its agents by id, and gives each agent more evidence on its own windows', () => {
    assert.equal(trainActionNetwork(population(), TRAINING).fingerprint, network.fingerprint);
    assert.notEqual(trainActionNetwork(population(), { ...TRAINING, seed: 2 }).fingerprint, network.fingerprint, 'another seed, other weights');
    assert.equal(network.classOf('user1'), 0);
    assert.equal(network.classOf('user8'), 7);
    assert.equal(network.classOf('someone-else'), undefined);
    const own: number[] = [];
    const others: number[] = [];
    users.forEach((u, i) => users.forEach((o) => o.test.forEach((v) => (o === u ? own : others).push(network.windowEvidence(v, i)))));
    assert.ok(own.every(Number.isFinite) && others.every(Number.isFinite));
    // Evidence is larger for the agent: its negation ranks like a distance.
    const auc = rocAuc(own.map((x) => -x), others.map((x) => -x));
    assert.ok(auc > 0.85, `the 1-minute sessions against the 3-minute ones: AUC ${auc}`);
    assert.ok(Number.isNaN(network.windowEvidence([], 0)), 'no actions, no evidence');
  });

  test('round-trips through its stored artifacts; a model that is not one is refused with what to do', async () => {
    const loaded = new ActionNetwork(await loadModelJson(modelToJson(network.model)));
    assert.equal(loaded.fingerprint, network.fingerprint);
    const v = users[2]!.test[0]!;
    assert.equal(loaded.windowEvidence(v, 2), network.windowEvidence(v, 2));
    const tf = requireTf();
    const other = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
    assert.throws(() => new ActionNetwork(other), (e: unknown) => e instanceof VdiguardError && /not a mouse action network of this version.*retrain it with `vdiguard train`/.test(e.message));
    assert.throws(
      () => trainActionNetwork(population().slice(0, 1), TRAINING),
      (e: unknown) => e instanceof VdiguardError && e.code === 'failed-precondition' && /at least 2 agents.*enrol more agents/.test(e.message),
    );
  });

  test('the fused mouse model: the network for agents it knows, ActionMlp alone otherwise', () => {
    const fused = new ActionFusion(network);
    const alone = new ActionMlp();
    const templates = users.map((u, i) => fused.fit(u.enrol, { background: backgroundOf(i), agentId: u.user }));
    templates.forEach((t, i) => {
      assert.equal(t.network, network.fingerprint);
      assert.equal(t.agentClass, i);
      assert.ok((t.cohortSd as number) > 0);
    });
    // A long enrolment leans on the agent's own classifier: the network's weight falls as the
    // square root of the actions beyond 400.
    const short = users[0]!.enrol.slice(0, 10);
    const long = Array.from({ length: 80 }, (_, k) => users[0]!.enrol[k % users[0]!.enrol.length]!);
    assert.equal(fused.fit(short, { background: backgroundOf(0), agentId: 'user1' }).networkWeight, 3, '200 actions: the full weight');
    const weight = fused.fit(long, { background: backgroundOf(0), agentId: 'user1' }).networkWeight as number;
    assert.ok(Math.abs(weight - 3 * Math.sqrt(400 / 1600)) < 1e-9, `1,600 actions: weight ${weight}`);
    const t = templates[0] as ActionFusionTemplate;
    assert.deepEqual(JSON.parse(JSON.stringify(t)), t, 'the template is plain JSON');
    const own = users[0]!.test.map((v) => fused.score(t, v));
    const others = users.slice(1).flatMap((o) => o.test.map((v) => fused.score(t, v)));
    assert.ok(rocAuc(own, others) > 0.9, `user1 against the others: AUC ${rocAuc(own, others)}`);
    const v = users[1]!.test[0]!;
    const mlpOnly = alone.score(t.actionMlp, v);
    assert.notEqual(fused.score(t, v), mlpOnly, 'the network counts');
    // An agent enrolled after the network was trained, a scorer without a network or with another
    // one, and a profile fitted before this model: ActionMlp's score, as it is.
    const stranger = fused.fit(users[0]!.enrol, { background: backgroundOf(0), agentId: 'enrolled-later' });
    assert.equal(stranger.network, null);
    assert.equal(fused.score(stranger, v), alone.score(stranger.actionMlp, v));
    assert.equal(new ActionFusion().score(t, v), mlpOnly);
    const retrained = trainActionNetwork(population(), { ...TRAINING, seed: 3 });
    assert.equal(new ActionFusion(retrained).score(t, v), mlpOnly);
    assert.equal(fused.score(t.actionMlp as unknown as ActionFusionTemplate, v), mlpOnly);
  });
});
