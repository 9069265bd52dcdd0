import { describe, expect, it } from 'vitest';
import { commandOf, parsePasted, parseSeed, seedSpec, specOfQuery } from '../../playground/src/run-spec.js';
import { InvalidArgumentError } from '../../src/errors.js';

const REPLAY = "npx keel sim --seed 13 --duration 3 --faults crash --plant-bug lying-disk --schedule 'nodes 3 clients 1; at 709 crash n2 down 1039; at 833 crash n3 down 440 during-write'";

describe('playground run specs: what the address, the inputs and a pasted command ask for', () => {
  it('reads a replay command printed by keel sim --shrink and prints it back the same', () => {
    const spec = parsePasted(REPLAY, seedSpec(1));
    expect(spec).toMatchObject({ seed: 13, durationMs: 3000, faults: ['crash'], plantedBug: 'lying-disk' });
    expect(spec.scenario?.faults).toHaveLength(2);
    expect(commandOf(spec)).toBe(REPLAY);
    expect(commandOf(seedSpec(4))).toBe('npx keel sim --seed 4');
  });

  it('a bare scenario replaces the schedule of the seed already shown', () => {
    const spec = parsePasted('nodes 3 clients 0; at 50 pause n1 for 20', { ...seedSpec(9), plantedBug: 'unsafe-reads' });
    expect(spec).toMatchObject({ seed: 9, plantedBug: 'unsafe-reads', scenario: { nodes: 3, clients: 0 } });
  });

  it('reads ?seed, &scenario, &bug, &duration, &nodes and &faults; no seed and no scenario is no spec', () => {
    expect(specOfQuery(new URLSearchParams('seed=5&bug=unsafe-reads&duration=2&nodes=5&faults=crash,pause'))).toMatchObject({
      seed: 5,
      plantedBug: 'unsafe-reads',
      durationMs: 2000,
      nodes: 5,
      faults: ['crash', 'pause'],
    });
    expect(specOfQuery(new URLSearchParams(`scenario=${encodeURIComponent(REPLAY)}`))?.seed).toBe(13);
    expect(specOfQuery(new URLSearchParams('run=full'))).toBeNull();
  });

  it.each([
    ['-4', 'the seed must be an integer'],
    ['1.5', 'the seed must be an integer'],
    ['4294967296', 'the seed must be an integer'],
  ])('refuses the seed %s', (text, message) => {
    expect(() => parseSeed(text)).toThrow(InvalidArgumentError);
    expect(() => parseSeed(text)).toThrow(message);
  });

  it.each([
    ['', 'paste a scenario'],
    ['npx keel sim --duration 3', 'names no --seed'],
    ['keel sim --seed 3 --shrink', 'unknown option --shrink'],
    ['keel sim --seed', '--seed needs a value'],
    ['keel sim --seed 3 --trace x.html', 'unknown option --trace'],
    ['keel sim --seed 3 --plant-bug sloppy', "unknown planted bug 'sloppy'"],
    ['keel sim --seed 3 --faults crash,gremlins', "unknown fault kind 'gremlins'"],
    ['keel sim --seed 3 --nodes 9', '--nodes must be an integer from 3 to 7'],
    ['nodes three', 'header'],
  ])('refuses %j, saying what is wrong', (text, message) => {
    expect(() => parsePasted(text, seedSpec(1))).toThrow(message);
  });
});
