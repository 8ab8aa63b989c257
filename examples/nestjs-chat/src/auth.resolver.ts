import { Inject, UseGuards } from '@nestjs/common';
import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentUser, JwtAuthGuard, RateLimit, RateLimitGuard, ValibotPipe } from '@switchboard/nestjs';
import { fixedWindow } from '@switchboard/ratelimit';
import * as v from 'valibot';
import { AuthService } from './auth.service.ts';
import { Credentials, Registration } from './inputs.ts';

// Password guessing is slowed per client address before argon2 runs.
const perAddress = { algorithm: fixedWindow({ limit: 10, windowMs: 60_000 }), key: 'ip' } as const;

@Resolver()
export class AuthResolver {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  @Mutation('register')
  @UseGuards(RateLimitGuard)
  @RateLimit(perAddress)
  register(@Args(ValibotPipe(Registration)) input: v.InferOutput<typeof Registration>) {
    return this.auth.register(input.username, input.password);
  }

  @Mutation('login')
  @UseGuards(RateLimitGuard)
  @RateLimit(perAddress)
  login(@Args(ValibotPipe(Credentials)) input: v.InferOutput<typeof Credentials>) {
    return this.auth.login(input.username, input.password);
  }

  @Mutation('refresh')
  refresh(@Args('refreshToken') refreshToken: string) {
    return this.auth.refresh(refreshToken);
  }

  @Query('me')
  @UseGuards(JwtAuthGuard)
  me(@CurrentUser('userId') userId: string) {
    return this.auth.user(userId);
  }
}
