import { createMemoryDeviceTokenStore, createMemorySessionStore } from '@switchboard/auth';
import { deviceTokenStoreContract, sessionStoreContract } from '@switchboard/auth/testing';

sessionStoreContract({ name: 'memory', store: () => createMemorySessionStore() });
deviceTokenStoreContract({ name: 'memory', store: () => createMemoryDeviceTokenStore() });
