import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PopulationSample, type AgentSample } from './population.js';
import { emptyProfile } from '../profile/profile.js';

const sampleOf = (...rows: number[][]): AgentSample => new Map([['keystroke', rows], ['mouse', []]]);

test('every change to the sample is told, evictions and deletions included, so a copy kept from them stays the same', () => {
  const told: [string, AgentSample | undefined][] = [];
  const sample = new PopulationSample({ maxAgents: 2, onChange: (agentId, s) => told.push([agentId, s]) });
  const copy = new PopulationSample({ maxAgents: Number.POSITIVE_INFINITY });
  const follow = (): void => {
    for (const [agentId, s] of told.splice(0)) (s ? copy.put(agentId, s) : copy.delete(agentId));
  };
  sample.put('a', sampleOf([1]));
  sample.put('b', sampleOf([2]));
  sample.put('a', sampleOf([3]));
  follow();
  assert.deepEqual(copy.background('keystroke', ''), sample.background('keystroke', ''));

  sample.put('c', sampleOf([4]));
  assert.deepEqual(told.map(([id, s]) => [id, s === undefined]), [['c', false], ['b', true]], 'the earliest added beyond maxAgents is dropped, and said');
  follow();
  sample.delete('a');
  sample.delete('nobody');
  assert.deepEqual(told.map(([id]) => id), ['a'], 'deleting an agent not in the sample tells nothing');
  follow();
  assert.deepEqual(copy.background('keystroke', ''), { agents: 1, windows: [[4]] });
  assert.deepEqual(sample.background('keystroke', ''), copy.background('keystroke', ''));
});

test('set samples a profile evenly and tells the sample it kept', () => {
  let told: AgentSample | undefined;
  const sample = new PopulationSample({ windowsPerAgent: 2, onChange: (_, s) => (told = s) });
  const body = emptyProfile();
  const windows = [[1], [2], [3], [4]];
  sample.set('a', { ...body, keystroke: { ...body.keystroke, windows } });
  assert.deepEqual(told?.get('keystroke'), [[1], [3]]);
  assert.deepEqual(sample.background('keystroke', 'b'), { agents: 1, windows: [[1], [3]] });
  assert.deepEqual(sample.background('keystroke', 'a'), { agents: 0, windows: [] }, 'never the agent\'s own');
});
