import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { AppModule } from '../src/app.module.js';
import { scenario } from '../src/scenario.js';

// Jest (Nest 11's default) and vitest (Nest 12's) both run this file, with their globals.
describe('the guards in a Nest testing module', () => {
  it('401, 403, 400, 201, 429 as the scenario expects', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      expect(await scenario(app)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
