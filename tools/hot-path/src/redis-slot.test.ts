import { describe, expect, test } from 'vitest';
import { redisSlot } from './redis-slot.ts';

describe('redisSlot', () => {
  test('matches the slots Redis gives (values from CLUSTER KEYSLOT)', () => {
    // The reference vector of the Redis Cluster specification: CRC16("123456789") = 0x31C3.
    expect(redisSlot('123456789')).toBe(0x31c3 & 16383);
    expect(redisSlot('foo')).toBe(12182);
    expect(redisSlot('bar')).toBe(5061);
    expect(redisSlot('')).toBe(0);
  });

  test('hashes only the hash tag when there is one', () => {
    expect(redisSlot('{user1000}.following')).toBe(redisSlot('user1000'));
    expect(redisSlot('rl|{u1}c9|fw')).toBe(redisSlot('u1'));
    // Only the first '{' counts, up to the next '}'.
    expect(redisSlot('foo{bar}{zap}')).toBe(redisSlot('bar'));
    expect(redisSlot('foo{{bar}}zap')).toBe(redisSlot('{bar'));
  });

  test('an empty or unclosed tag is no tag: the whole key is hashed', () => {
    expect(redisSlot('foo{}{bar}')).not.toBe(redisSlot('bar'));
    expect(redisSlot('foo{bar')).not.toBe(redisSlot('bar'));
  });

  test('hashes UTF-8 bytes', () => {
    expect(redisSlot('{é}x')).toBe(redisSlot('é'));
    expect(redisSlot('é')).not.toBe(redisSlot('e'));
  });
});
