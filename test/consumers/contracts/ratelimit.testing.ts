import { createMemoryStore } from '@switchboard/ratelimit';
import { storeContract } from '@switchboard/ratelimit/testing';

let clock = 1_700_000_000_000;
const store = createMemoryStore({ now: () => clock });
storeContract({
  name: 'memory',
  store: () => store,
  advance: async (ms) => {
    clock += ms;
  },
});
