import { createMemorySessionStore } from '../src/index.ts';
import { describeAuthBehaviour } from './auth-behaviour.ts';

describeAuthBehaviour('memory', () => createMemorySessionStore());
