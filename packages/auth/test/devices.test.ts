import { createMemoryDeviceTokenStore } from '../src/index.ts';
import { describeDeviceTokens } from './device-behaviour.ts';

describeDeviceTokens('memory', () => createMemoryDeviceTokenStore());
