import { createMemoryDeviceTokenStore } from '../src/index.ts';
import { deviceTokenStoreContract } from '../src/testing.ts';

deviceTokenStoreContract({ name: 'memory', store: () => createMemoryDeviceTokenStore() });
