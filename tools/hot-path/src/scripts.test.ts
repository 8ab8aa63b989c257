import { describe, expect, test } from 'vitest';
import { defineScript, isNoScriptError, scriptRunner } from './scripts.ts';

// A client with Redis's script-cache semantics (EVALSHA fails with NOSCRIPT until EVAL ran the
// source); the real-Redis paths are covered by each package's integration tests.
function scriptCacheClient(withEvalsha: boolean) {
  const known = new Set<string>();
  const commands: string[] = [];
  const run = (sha1: string) => `ran ${sha1.slice(0, 6)}`;
  const script = defineScript('return 1');
  const client = {
    async call(command: string, ...args: (string | number)[]) {
      commands.push(command);
      if (command === 'EVAL') {
        known.add(script.sha1);
        return run(script.sha1);
      }
      if (command === 'EVALSHA') {
        if (!known.has(String(args[0]))) throw new Error('NOSCRIPT No matching script. Please use EVAL.');
        return run(String(args[0]));
      }
      throw new Error(`ERR unknown command '${command}'`);
    },
    ...(withEvalsha
      ? { evalsha: (sha1: string, ...args: (string | number)[]) => client.call('EVALSHA', sha1, ...args) }
      : {}),
  };
  return { client, commands, script };
}

describe('scriptRunner', () => {
  test.each([true, false])(
    'sends the source only when Redis does not know the script (evalsha: %s)',
    async (withEvalsha) => {
      const { client, commands, script } = scriptCacheClient(withEvalsha);
      const run = scriptRunner(client);
      await expect(run(script, [0])).resolves.toBe(`ran ${script.sha1.slice(0, 6)}`);
      await expect(run(script, [0])).resolves.toBe(`ran ${script.sha1.slice(0, 6)}`);
      expect(commands).toEqual(['EVALSHA', 'EVAL', 'EVALSHA']);
    },
  );

  test('other errors are not retried with EVAL', async () => {
    const run = scriptRunner({
      call: async () => {
        throw new Error('ERR Error running script');
      },
    });
    await expect(run(defineScript('return 1'), [0])).rejects.toThrow('ERR Error running script');
    expect(isNoScriptError(new Error('NOSCRIPT x'))).toBe(true);
    expect(isNoScriptError('NOSCRIPT x')).toBe(false);
  });

  test('defineScript names a script by the SHA1 Redis computes', () => {
    expect(defineScript('return 1').sha1).toBe('e0e1f9fabfc9d4800c877a703b823ac0578ff8db');
  });
});
