import { describe, expect, test } from 'vitest';
import { isTxError, runSaga, SagaError, type SagaStep } from '../src/index.ts';

function recorder() {
  const calls: string[] = [];
  const step = (name: string, fail = false, compensateFails = false): SagaStep<{ log: string[] }, string> => ({
    name,
    execute: async (context) => {
      calls.push(`execute ${name}`);
      context.log.push(name);
      if (fail) throw new Error(`${name} failed`);
      return `${name}-result`;
    },
    compensate: async (_context, result) => {
      calls.push(`compensate ${name} ${result}`);
      if (compensateFails) throw new Error(`${name} compensation failed`);
    },
  });
  return { calls, step };
}

describe('runSaga', () => {
  test('runs every step once, in order, and returns their results by name', async () => {
    const { calls, step } = recorder();
    const context = { log: [] as string[] };
    const outcome = await runSaga([step('reserve'), step('charge'), step('ship')], { context });
    expect(calls).toEqual(['execute reserve', 'execute charge', 'execute ship']);
    expect(outcome.results).toEqual({ reserve: 'reserve-result', charge: 'charge-result', ship: 'ship-result' });
    expect(outcome.context).toBe(context);
  });

  test('on failure compensates the completed steps in reverse, once each, and never re-executes', async () => {
    const { calls, step } = recorder();
    const error = await runSaga([step('reserve'), step('charge'), step('ship', true), step('notify')], {
      context: { log: [] },
    }).catch((caught: unknown) => caught);
    expect(calls).toEqual([
      'execute reserve',
      'execute charge',
      'execute ship',
      'compensate charge charge-result',
      'compensate reserve reserve-result',
    ]);
    expect(error).toBeInstanceOf(SagaError);
    expect(isTxError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'SAGA_FAILED',
      failedStep: 'ship',
      compensated: ['charge', 'reserve'],
      compensationFailures: [],
    });
    expect((error as SagaError).cause).toMatchObject({ message: 'ship failed' });
  });

  test('a compensation that throws does not stop the others and is listed in the SagaError', async () => {
    const { calls, step } = recorder();
    const error = (await runSaga([step('a'), step('b', false, true), step('c'), step('d', true)], {
      context: { log: [] },
    }).catch((caught: unknown) => caught)) as SagaError;
    expect(calls.filter((call) => call.startsWith('compensate'))).toEqual([
      'compensate c c-result',
      'compensate b b-result',
      'compensate a a-result',
    ]);
    expect(error.compensated).toEqual(['c', 'a']);
    expect(error.compensationFailures).toHaveLength(1);
    expect(error.compensationFailures[0]).toMatchObject({ step: 'b', error: { message: 'b compensation failed' } });
    expect(error.message).toContain('compensation failed for b');
  });

  test('steps without compensate are skipped when undoing; the first step failing compensates nothing', async () => {
    const executed: string[] = [];
    const error = (await runSaga([
      { name: 'log', execute: () => executed.push('log') },
      { name: 'boom', execute: () => Promise.reject(new Error('boom')) },
    ]).catch((caught: unknown) => caught)) as SagaError;
    expect(error.compensated).toEqual([]);
    expect(executed).toEqual(['log']);
    const first = (await runSaga([{ name: 'only', execute: () => Promise.reject(new Error('x')) }]).catch(
      (caught: unknown) => caught,
    )) as SagaError;
    expect(first).toMatchObject({ failedStep: 'only', compensated: [], compensationFailures: [] });
  });

  test('rejects malformed steps with TypeError before running any', async () => {
    let ran = false;
    const execute = () => {
      ran = true;
    };
    await expect(
      runSaga([
        { name: 'a', execute },
        { name: 'a', execute },
      ]),
    ).rejects.toBeInstanceOf(TypeError);
    await expect(runSaga([{ name: '', execute }])).rejects.toBeInstanceOf(TypeError);
    await expect(runSaga([{ name: 'x' } as never])).rejects.toBeInstanceOf(TypeError);
    expect(ran).toBe(false);
  });
});
